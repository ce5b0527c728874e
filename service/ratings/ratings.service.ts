import { Types } from 'mongoose';
import type { RatingInput } from './ratings.schemas';
import { actorOf, loadVisible } from '../applications/applications.service';
import { isAllowed } from '../applications/workflow';
import type { AppContext } from '../context';
import { inJurisdiction, jurisdictionFilter, residentSide } from '../lib/access';
import type { Principal } from '../lib/auth';
import { trustedFilter } from '../lib/database';
import { AppError, notFound } from '../lib/errors';
import type { Bilingual } from '../lib/i18n';
import { chinaDate, deadlineFor, type TimeLimit } from '../lib/workdays';
import type { RatingDoc } from './ratings.model';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'policy' | 'config'>;

/** The five levels of 国办发〔2019〕51号, worst first: a score is the level's position. */
export const LEVELS: readonly Bilingual[] = [
  { zh: '非常不满意', en: 'very dissatisfied' },
  { zh: '不满意', en: 'dissatisfied' },
  { zh: '基本满意', en: 'fairly satisfied' },
  { zh: '满意', en: 'satisfied' },
  { zh: '非常满意', en: 'very satisfied' },
];

/** A rating at or below this opens a follow-up (差评). */
export const BAD_AT_MOST = 2;

/**
 * How long the township has to follow up a bad rating (回访整改). 51号 asks for verification and
 * rectification of bad ratings; the 15 working days are a reading of provincial practice (unverified).
 */
export const FOLLOW_UP_LIMIT: TimeLimit = { value: 15, unit: 'working_days' };

const missingRating = () => notFound({ zh: '未找到该评价', en: 'Rating not found' });

export async function rateApplication(ctx: Ctx, p: Principal, applicationId: string, input: RatingInput): Promise<RatingDoc> {
  const app = await loadVisible(ctx, p, applicationId);
  if (!isAllowed('rate', app.status)) {
    throw new AppError('conflict', { zh: '办件办结后才能评价', en: 'A case can be rated once it has ended' }, undefined, { currentStatus: app.status });
  }
  const now = ctx.clock.now();
  const bad = input.score <= BAD_AT_MOST;
  try {
    const rating = await ctx.models.Rating.create({
      applicationId: app._id.toString(),
      applicationNumber: app.number,
      type: app.type,
      division: app.division ?? '',
      score: input.score,
      ...(input.comment ? { comment: input.comment } : {}),
      channel: p.channel,
      ratedBy: actorOf(p),
      createdAt: now,
      followUp: bad ? { status: 'open', deadline: deadlineFor(now, FOLLOW_UP_LIMIT) } : null,
    });
    return rating.toObject() as RatingDoc;
  } catch (err) {
    if ((err as { code?: number }).code === 11000) {
      throw new AppError('already_exists', { zh: '该办件已评价过，每件只能评价一次', en: 'This case has been rated already; a case is rated once' });
    }
    throw err;
  }
}

/** The rating of a case, for whoever may see the case. */
export async function ratingOf(ctx: Ctx, p: Principal, applicationId: string): Promise<RatingDoc> {
  const app = await loadVisible(ctx, p, applicationId);
  const rating = await ctx.models.Rating.findOne({ applicationId: app._id.toString() }).lean<RatingDoc>();
  if (!rating) throw missingRating();
  return rating;
}

/** Officers' list: follow-ups of bad ratings in their jurisdiction, earliest deadline first. */
export async function listFollowUps(ctx: Ctx, p: Principal, q: { status: 'open' | 'done'; limit: number }): Promise<RatingDoc[]> {
  return ctx.models.Rating.find(trustedFilter({ $and: [{ 'followUp.status': q.status }, jurisdictionFilter(p)] }))
    .sort({ 'followUp.status': 1, 'followUp.deadline': 1, _id: 1 })
    .limit(q.limit)
    .lean<RatingDoc[]>();
}

/** An officer of the case's area records what the follow-up found and did, once. */
export async function recordFollowUp(ctx: Ctx, p: Principal, id: string, outcome: string): Promise<RatingDoc> {
  if (!Types.ObjectId.isValid(id)) throw missingRating();
  const rating = await ctx.models.Rating.findById(new Types.ObjectId(id)).lean<RatingDoc>();
  if (!rating || !inJurisdiction(p, rating.division)) throw missingRating();
  if (!rating.followUp) throw new AppError('conflict', { zh: '该评价不是差评，无需回访整改', en: 'Only a bad rating (1 or 2) has a follow-up' });
  const now = ctx.clock.now();
  const done = await ctx.models.Rating.findOneAndUpdate(
    { _id: rating._id, 'followUp.status': 'open' },
    { $set: { followUp: { ...rating.followUp, status: 'done', outcome, by: actorOf(p), at: now, onTime: chinaDate(now) <= rating.followUp.deadline } } },
    { returnDocument: 'after' },
  ).lean<RatingDoc>();
  if (!done) throw new AppError('conflict', { zh: '该差评的回访整改结果已登记', en: 'The follow-up outcome is already recorded' });
  return done;
}

/** What a caller sees: residents see the follow-up's outcome, not which officer wrote it. */
export function ratingView(ctx: Pick<AppContext, 'clock'>, r: RatingDoc, p: Principal) {
  const own = residentSide(p);
  const f = r.followUp;
  return {
    id: r._id.toString(),
    applicationId: r.applicationId,
    applicationNumber: r.applicationNumber ?? null,
    type: r.type,
    score: r.score,
    level: LEVELS[r.score - 1],
    comment: r.comment ?? null,
    channel: r.channel,
    createdAt: r.createdAt,
    followUp: f
      ? {
          status: f.status,
          deadline: f.deadline,
          overdue: f.status === 'open' && f.deadline < chinaDate(ctx.clock.now()),
          outcome: f.outcome ?? null,
          at: f.at ?? null,
          by: f.by ? (own ? { role: f.by.role } : f.by) : null,
          onTime: f.onTime ?? null,
        }
      : null,
  };
}
