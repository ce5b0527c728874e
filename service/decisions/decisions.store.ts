import type { Model, Types } from 'mongoose';
import type { AppContext } from '../context';
import { addKey, backfillKeys, findByKey } from '../lib/keyindex';
import type { DecisionDoc } from './decisions.model';

/**
 * The written decisions of a case, read by `_id` only (the collection grows with the history):
 * through a key document listing them (lib/keyindex.ts), written before the decision; each read
 * checks every document in memory.
 */
type Store = Pick<AppContext, 'models'>;

/** Key documents: an application's id → its written decisions. */
export const APPLICATION_DECISIONS_KEY = 'decision-application';

/** Before a decision of this application is written under `id`. */
export async function keyDecision(ctx: Store, applicationId: string, id: string): Promise<void> {
  await addKey(ctx.models, APPLICATION_DECISIONS_KEY, applicationId, id);
}

/** The written decisions of one application, oldest first. */
export async function decisionsOf(ctx: Store, applicationId: string): Promise<DecisionDoc[]> {
  const found = await findByKey<DecisionDoc>(ctx.models, ctx.models.Decision as unknown as Model<DecisionDoc>, APPLICATION_DECISIONS_KEY, applicationId, { applicationId });
  return found.sort((a, b) => new Date(a.decidedAt).getTime() - new Date(b.decidedAt).getTime());
}

/** Start-up (and the bench after seeding raw documents): the keys missing for stored decisions, from one scan. */
export async function backfillDecisionKeys(ctx: Store): Promise<number> {
  const all = await ctx.models.Decision.find({}, { applicationId: 1 }).lean<Pick<DecisionDoc, '_id' | 'applicationId'>[]>();
  return backfillKeys(ctx.models, APPLICATION_DECISIONS_KEY, all.map((d): [string, string | Types.ObjectId] => [d.applicationId, d._id]));
}
