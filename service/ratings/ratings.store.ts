import { Types, type Model } from 'mongoose';
import type { AppContext } from '../context';
import type { Principal } from '../lib/auth';
import { addKey, backfillKeys, findOneByKey } from '../lib/keyindex';
import { backfillWorklist, enlist, enterHistory, historyPage, leaveOpen, openItems, type Page, type Worklist } from '../lib/worklist';
import type { RatingDoc } from './ratings.model';

/**
 * The ratings collection, read by `_id` only (every finished case may be rated: it grows with the
 * history): a case's rating through a key document (lib/keyindex.ts), the follow-ups of bad ratings
 * through the open follow-ups' worklist and the done ones through month buckets (lib/worklist.ts).
 * Each key is written before the document it lists; each read checks every document in memory.
 */
type Store = Pick<AppContext, 'models'>;

/** Key documents: an application's id → its rating. */
export const APPLICATION_RATING_KEY = 'rating-application';
const FOLLOW_UPS = 'rating-follow-up';

const worklist = (ctx: Store): Worklist<RatingDoc> => ({
  name: FOLLOW_UPS,
  model: ctx.models.Rating as unknown as Model<RatingDoc>,
  isOpen: (r) => r.followUp?.status === 'open',
  doneAt: (r) => (r.followUp?.status === 'done' && r.followUp.at ? new Date(r.followUp.at) : null),
});

export async function ratingOfApplication(ctx: Store, applicationId: string): Promise<RatingDoc | null> {
  return findOneByKey<RatingDoc>(ctx.models, worklist(ctx).model, APPLICATION_RATING_KEY, applicationId, { applicationId });
}

/**
 * Stores a rating: its keys (the case's, and the open follow-ups' for a bad one) first, then the
 * document, which the unique `applicationId` makes the only one of its case (a duplicate throws 11000).
 */
export async function insertRating(ctx: Store, doc: Omit<RatingDoc, '_id'>): Promise<RatingDoc> {
  const _id = new Types.ObjectId();
  await addKey(ctx.models, APPLICATION_RATING_KEY, doc.applicationId, _id);
  if (doc.followUp?.status === 'open') await enlist(ctx.models, FOLLOW_UPS, doc.division, _id);
  const created = await ctx.models.Rating.create({ ...doc, _id });
  return created.toObject() as RatingDoc;
}

export async function ratingById(ctx: Store, id: Types.ObjectId): Promise<RatingDoc | null> {
  return ctx.models.Rating.findById(id).lean<RatingDoc>();
}

/**
 * Records a follow-up's outcome once (null: it was recorded already): the rating enters the month's
 * done follow-ups first, then its document changes, then it leaves the open list.
 */
export async function storeFollowUp(ctx: Store, rating: RatingDoc, followUp: NonNullable<RatingDoc['followUp']> & { at: Date }): Promise<RatingDoc | null> {
  await enterHistory(ctx.models, FOLLOW_UPS, rating.division, rating._id, followUp.at);
  const done = await ctx.models.Rating.findOneAndUpdate({ _id: rating._id, 'followUp.status': 'open' }, { $set: { followUp } }, { returnDocument: 'after' }).lean<RatingDoc>();
  if (done) await leaveOpen(ctx.models, FOLLOW_UPS, rating.division, rating._id);
  return done;
}

/** The open follow-ups in the caller's jurisdiction, earliest deadline first. */
export async function openFollowUps(ctx: Store, p: Principal, limit: number): Promise<RatingDoc[]> {
  const byDeadline = (a: RatingDoc, b: RatingDoc): number => (a.followUp?.deadline ?? '').localeCompare(b.followUp?.deadline ?? '') || a._id.toString().localeCompare(b._id.toString());
  return (await openItems(ctx.models, worklist(ctx), p, { 'followUp.status': 'open' }, byDeadline)).slice(0, limit);
}

/** A page of the done follow-ups in the caller's jurisdiction, last recorded first. */
export function doneFollowUps(ctx: Store, p: Principal, q: { limit: number; before?: string }): Promise<Page<RatingDoc>> {
  return historyPage(ctx.models, worklist(ctx), p, { 'followUp.status': 'done' }, q);
}

/** Start-up (and the bench after seeding raw documents): the keys missing for stored ratings, from one scan. */
export async function backfillRatingKeys(ctx: Store): Promise<number> {
  const all = await ctx.models.Rating.find({}, { applicationId: 1, division: 1, followUp: 1 }).lean<RatingDoc[]>();
  return (
    (await backfillKeys(ctx.models, APPLICATION_RATING_KEY, all.map((r): [string, Types.ObjectId] => [r.applicationId, r._id]))) +
    (await backfillWorklist(ctx.models, worklist(ctx), all))
  );
}
