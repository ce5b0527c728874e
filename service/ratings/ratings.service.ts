import { Types } from 'mongoose';
import type { RatingInput } from './ratings.schemas';
import { actorOf, loadVisible } from '../applications/applications.service';
import { isAllowed } from '../applications/workflow';
import type { AppContext } from '../context';
import { inJurisdiction, residentSide } from '../lib/access';
import type { Principal } from '../lib/auth';
import { AppError, notFound } from '../lib/errors';
import type { Bilingual } from '../lib/i18n';
import { chinaDate, deadlineFor, type TimeLimit } from '../lib/workdays';
import type { RatingDoc } from './ratings.model';
import { doneFollowUps, insertRating, openFollowUps, ratingById, ratingOfApplication, storeFollowUp } from './ratings.store';

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
  const rated = () => new AppError('already_exists', { zh: '该办件已评价过，每件只能评价一次', en: 'This case has been rated already; a case is rated once' });
  // Checked first so that a repeat leaves no key behind; the unique index settles a race.
  if (await ratingOfApplication(ctx, app._id.toString())) throw rated();
  try {
    return await insertRating(ctx, {
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
  } catch (err) {
    if ((err as { code?: number }).code === 11000) throw rated();
    throw err;
  }
}

/** The rating of a case, for whoever may see the case. */
export async function ratingOf(ctx: Ctx, p: Principal, applicationId: string): Promise<RatingDoc> {
  const app = await loadVisible(ctx, p, applicationId);
  const rating = await ratingOfApplication(ctx, app._id.toString());
  if (!rating) throw missingRating();
  return rating;
}

/**
 * Officers' list of follow-ups of bad ratings in their jurisdiction: the open ones earliest
 * deadline first (all of them fit: open work is small), the done ones last recorded first, a page
 * at a time (`next` is the `before` of the next page).
 */
export async function listFollowUps(ctx: Ctx, p: Principal, q: { status: 'open' | 'done'; limit: number; before?: string }): Promise<{ items: RatingDoc[]; next: string | null }> {
  if (q.status === 'done') return doneFollowUps(ctx, p, q);
  return { items: await openFollowUps(ctx, p, q.limit), next: null };
}

/** An officer of the case's area records what the follow-up found and did, once. */
export async function recordFollowUp(ctx: Ctx, p: Principal, id: string, outcome: string): Promise<RatingDoc> {
  if (!Types.ObjectId.isValid(id)) throw missingRating();
  const rating = await ratingById(ctx, new Types.ObjectId(id));
  if (!rating || !inJurisdiction(p, rating.division)) throw missingRating();
  if (!rating.followUp) throw new AppError('conflict', { zh: '该评价不是差评，无需回访整改', en: 'Only a bad rating (1 or 2) has a follow-up' });
  const now = ctx.clock.now();
  const done = await storeFollowUp(ctx, rating, { ...rating.followUp, status: 'done', outcome, by: actorOf(p), at: now, onTime: chinaDate(now) <= rating.followUp.deadline });
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
