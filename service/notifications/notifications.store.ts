import type { ComplaintDoc } from '../complaints/complaints.model';
import type { AppContext } from '../context';
import type { DecisionDoc } from '../decisions/decisions.model';
import { trustedFilter } from '../lib/database';
import type { NotificationDoc } from './notifications.model';

/**
 * The outbox's operations that filter on more than `_id` (the dispatcher's claim, the purge), and
 * the catch-up sweep's reads of what happened in its window. The outbox stays small (delivered
 * records go after two days), so the dispatcher's filtered claim reads a bounded collection; the
 * sweep's reads of decisions and complaints run at start-up only.
 */
type Store = Pick<AppContext, 'models'>;

/**
 * Takes one due record for a dispatcher (`owner`): a pending one whose time has come, or one whose
 * lease expired; one conditional update, so two dispatchers never hold the same record.
 */
export function claimDue(ctx: Store, owner: string, now: Date, leaseMs: number): Promise<NotificationDoc | null> {
  return ctx.models.Notification.findOneAndUpdate(
    trustedFilter({ $or: [{ state: 'pending', nextAttemptAt: { $lte: now } }, { state: 'sending', leaseUntil: { $lte: now } }] }),
    { $set: { state: 'sending', leaseOwner: owner, leaseUntil: new Date(now.getTime() + leaseMs) }, $inc: { attempts: 1 } },
    { sort: { nextAttemptAt: 1 }, returnDocument: 'after' },
  ).lean<NotificationDoc>();
}

/** Removes delivered records delivered before `deliveredBefore` and parked ones created before `deadBefore`. */
export async function deleteFinished(ctx: Store, deliveredBefore: Date, deadBefore: Date): Promise<number> {
  const delivered = await ctx.models.Notification.deleteMany(trustedFilter({ state: 'delivered', deliveredAt: { $lt: deliveredBefore } }));
  const dead = await ctx.models.Notification.deleteMany(trustedFilter({ state: 'dead', createdAt: { $lt: deadBefore } }));
  return delivered.deletedCount + dead.deletedCount;
}

/** The written decisions decided since `since` (what the messages of the sweep's window name). */
export function decisionsSince(ctx: Store, since: Date): Promise<DecisionDoc[]> {
  return ctx.models.Decision.find(trustedFilter({ decidedAt: { $gte: since } }), { applicationId: 1, kind: 1, number: 1, decidedAt: 1 }).lean<DecisionDoc[]>();
}

/** The complaints answered since `since`, one at a time. */
export function complaintsAnsweredSince(ctx: Store, since: Date): AsyncIterable<ComplaintDoc> {
  return ctx.models.Complaint.find(trustedFilter({ status: 'answered', answeredAt: { $gte: since } })).lean<ComplaintDoc[]>().cursor() as AsyncIterable<ComplaintDoc>;
}
