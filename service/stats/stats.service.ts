import type { ApplicationDoc } from '../applications/applications.model';
import type { AppContext } from '../context';
import { assertRight, countyWide, jurisdictionFilter } from '../lib/access';
import type { Principal } from '../lib/auth';
import { trustedFilter } from '../lib/database';
import { chinaDate, workingDaysBetween, type IsoDate } from '../lib/workdays';

/**
 * Service performance figures (docs/stats.md says the same for readers of the README).
 *
 * Scope: applications (and complaints about them) whose residence division starts with one of the
 * officer's prefixes, all for an admin; drafts never count. `type` and `division` (a prefix)
 * narrow it further. The period is `from`..`to`, China calendar dates, both included.
 *
 * Counts, each by type, stage and channel:
 * - received: first submitted in the period (`submittedAt`); its stage is the type's first stage.
 * - approved / rejected: final decision in the period (`decidedAt`); decided = approved + rejected.
 * - returned: returned for supplement, the latest return in the period (`returnedAt`).
 * - withdrawn: withdrawn in the period after being submitted (a withdrawn application changes no
 *   further, so its last change `updatedAt` is the withdrawal).
 * - stage, for all but received: the stage the application is at (for final states the stage that
 *   decided; for returned ones the stage it went back to).
 *
 * Timeliness:
 * - stage decisions: every stage decided in the period (a township approval that moves a re-birth
 *   permit on, a county approval, a rejection at either level). On time against the committed (or
 *   statutory) limit when decided on or before that stage's deadline, which is already extended by
 *   the working days the application spent returned.
 * - late open: pending or in review now, whose current stage's deadline fell in the period and has
 *   passed. They are late whatever happens next, so the rates count them: on-time / (stage
 *   decisions + late open). Leaving them out would flatter an office that sits on its late cases.
 * - working days to decision, for final decisions in the period: working days after the first
 *   submission up to and including the decision day, minus the working days spent returned.
 *   Decided on the day of submission = 0. The 3-day share is those with ≤ 3 over final decisions;
 *   the median is the middle value (mean of the two middle ones for an even count); the 90th
 *   percentile is the nearest-rank value (the ⌈0.9·n⌉-th smallest).
 * - overdue now: pending or in review today, current stage's deadline before today (returned
 *   applications are paused, so never overdue). Independent of the period.
 * - backlog now: pending or in review today, whatever their deadline. Independent of the period.
 *
 * Complaints, as a cohort: received (filed in the period); of those, answered by now and answered by
 * their response deadline. The answer rate is answered / received and the on-time answer rate is
 * answered on time / received, so an unanswered complaint counts against both. Open now and
 * overdue now are independent of the period.
 *
 * Certificates by type: issued (issuedAt in the period), revoked (revokedAt in the period) and
 * expired (validUntil in the period and already past, and not revoked). Scoped by the issuing
 * authority's division: a township officer sees what the township issued, the county everything.
 *
 * Ratings (好差评), as a cohort: rated in the period, by score. Satisfied are 基本满意 and better
 * (3–5; which levels a published 满意率 counts is our reading); bad are 1–2, each with a follow-up.
 * The follow-up rate is follow-ups done / bad ratings, done on time / bad ratings beside it.
 *
 * A period ends today at the latest and spans at most MAX_PERIOD_DAYS days.
 *
 * How it is computed: counts are `$match` + `$group` with `$sum: 1` on indexed dates, which every
 * backend (including FerretDB) aggregates correctly. Timeliness needs the official holiday
 * calendar, which lives in the service, and a median needs the distribution, so the decided
 * applications are streamed through a cursor with a projection of the few fields needed and reduced
 * to counts and a histogram of working days; no full document is ever loaded.
 */

export const FIGURES = ['received', 'decided', 'approved', 'returned', 'rejected', 'withdrawn'] as const;
export type Figure = (typeof FIGURES)[number];
export type Counts = Record<Figure, number>;

export interface StatsQuery {
  from: IsoDate;
  to: IsoDate;
  type?: string;
  division?: string;
}

export interface Stats {
  period: { from: IsoDate; to: IsoDate };
  scope: { jurisdiction: string[] | 'all'; type: string | null; division: string | null };
  asOf: string;
  today: IsoDate;
  counts: { total: Counts; byType: Record<string, Counts>; byStage: Record<string, Counts>; byChannel: Record<string, Counts> };
  timeliness: {
    stageDecisions: number;
    onTimeCommitted: number;
    onTimeCommittedRate: number | null;
    onTimeStatutory: number;
    onTimeStatutoryRate: number | null;
    lateOpenCommitted: number;
    lateOpenStatutory: number;
    finalDecisions: number;
    within3WorkingDays: number;
    within3WorkingDaysShare: number | null;
    medianWorkingDays: number | null;
    p90WorkingDays: number | null;
  };
  overdueNow: { committed: number; statutory: number };
  /** Pending or in review now (returned ones wait for the applicant): the backlog. Independent of the period. */
  backlogNow: number;
  complaints: { received: number; answered: number; answeredOnTime: number; answerRate: number | null; onTimeAnswerRate: number | null; openNow: number; overdueNow: number };
  certificates: Record<CertificateFigure, { total: number; byType: Record<string, number> }>;
  ratings: {
    received: number;
    byScore: Record<'1' | '2' | '3' | '4' | '5', number>;
    satisfied: number;
    satisfactionRate: number | null;
    bad: number;
    followedUp: number;
    followedUpOnTime: number;
    followUpRate: number | null;
  };
}

export const CERTIFICATE_FIGURES = ['issued', 'revoked', 'expired'] as const;
export type CertificateFigure = (typeof CERTIFICATE_FIGURES)[number];

/** A year and a day: a leap year's full year fits, and nothing longer walks the whole history in one request. */
export const MAX_PERIOD_DAYS = 366;

const DAY_MS = 86_400_000;
const STAGES = ['township', 'county'];
const CHANNELS = ['online', 'terminal'];
const QUICK_DAYS = 3;

const startOfChinaDay = (date: IsoDate): Date => new Date(`${date}T00:00:00+08:00`);
const rate = (n: number, d: number): number | null => (d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);
const zero = (): Counts => ({ received: 0, decided: 0, approved: 0, returned: 0, rejected: 0, withdrawn: 0 });

function divisionScope(p: Principal, q: StatsQuery): Record<string, unknown>[] {
  const clauses: Record<string, unknown>[] = [jurisdictionFilter(p)];
  if (q.type) clauses.push({ type: q.type });
  if (q.division) clauses.push({ division: { $regex: `^${q.division.replace(/\D/g, '')}` } });
  return clauses;
}

/** Percentiles from a histogram of whole working days. */
function nthSmallest(histogram: Map<number, number>, rank: number): number {
  let seen = 0;
  for (const days of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(days)!;
    if (seen >= rank) return days;
  }
  throw new RangeError('rank beyond the histogram');
}

function median(histogram: Map<number, number>, n: number): number | null {
  if (n === 0) return null;
  if (n % 2 === 1) return nthSmallest(histogram, (n + 1) / 2);
  return (nthSmallest(histogram, n / 2) + nthSmallest(histogram, n / 2 + 1)) / 2;
}

export async function computeStats(ctx: Pick<AppContext, 'models' | 'clock' | 'policy'>, p: Principal, q: StatsQuery): Promise<Stats> {
  assertRight(p, 'stats:read');
  const start = startOfChinaDay(q.from);
  const end = new Date(startOfChinaDay(q.to).getTime() + DAY_MS);
  const inPeriod = { $gte: start, $lt: end };
  const now = ctx.clock.now();
  const today = chinaDate(now);
  const scope = divisionScope(p, q);
  const Application = ctx.models.Application;
  const match = (...extra: Record<string, unknown>[]) => trustedFilter({ $and: [{ submittedAt: { $exists: true } }, ...scope, ...extra] });

  const types = ctx.policy.types.map((t) => t.code);
  const counts: Stats['counts'] = {
    total: zero(),
    byType: Object.fromEntries(types.map((t) => [t, zero()])),
    byStage: Object.fromEntries(STAGES.map((s) => [s, zero()])),
    byChannel: Object.fromEntries(CHANNELS.map((c) => [c, zero()])),
  };
  const add = (figure: Figure, key: { type: string; channel: string; level?: string }, n: number): void => {
    const level = key.level ?? 'unknown';
    counts.total[figure] += n;
    (counts.byType[key.type] ??= zero())[figure] += n;
    (counts.byStage[level] ??= zero())[figure] += n;
    (counts.byChannel[key.channel] ??= zero())[figure] += n;
  };
  const grouped = async (figure: Figure, filter: Record<string, unknown>, alsoAs?: Figure): Promise<void> => {
    const rows = await Application.aggregate<{ _id: { type: string; channel: string; level?: string }; n: number }>([
      { $match: match(filter) },
      { $group: { _id: { type: '$type', channel: '$channel', level: '$queueLevel' }, n: { $sum: 1 } } },
    ]);
    for (const row of rows) {
      add(figure, row._id, row.n);
      if (alsoAs) add(alsoAs, row._id, row.n);
    }
  };

  const received = await Application.aggregate<{ _id: { type: string; channel: string }; n: number }>([
    { $match: match({ submittedAt: inPeriod }) },
    { $group: { _id: { type: '$type', channel: '$channel' }, n: { $sum: 1 } } },
  ]);
  for (const row of received) add('received', { ...row._id, level: ctx.policy.type(row._id.type)?.stages[0]?.level }, row.n);
  await grouped('approved', { status: 'approved', decidedAt: inPeriod }, 'decided');
  await grouped('rejected', { status: 'rejected', decidedAt: inPeriod }, 'decided');
  await grouped('returned', { returnedAt: inPeriod });
  await grouped('withdrawn', { status: 'withdrawn', updatedAt: inPeriod });

  const t = { stageDecisions: 0, onTimeCommitted: 0, onTimeStatutory: 0, finalDecisions: 0, within3WorkingDays: 0 };
  const histogram = new Map<number, number>();
  const decided = Application.find(match({ $or: [{ decidedAt: inPeriod }, { 'stages.decidedAt': inPeriod }] }), {
    status: 1,
    stages: 1,
    submittedAt: 1,
    decidedAt: 1,
    pausedWorkingDays: 1,
  })
    .lean<ApplicationDoc[]>()
    .cursor();
  for await (const app of decided as AsyncIterable<ApplicationDoc>) {
    for (const stage of app.stages) {
      if (!stage.decidedAt || stage.decidedAt < start || stage.decidedAt >= end) continue;
      const day = chinaDate(stage.decidedAt);
      t.stageDecisions += 1;
      if (stage.committedDeadline && day <= stage.committedDeadline) t.onTimeCommitted += 1;
      if (stage.statutoryDeadline && day <= stage.statutoryDeadline) t.onTimeStatutory += 1;
    }
    const final = (app.status === 'approved' || app.status === 'rejected') && app.decidedAt && app.decidedAt >= start && app.decidedAt < end;
    if (final && app.submittedAt) {
      const days = Math.max(0, workingDaysBetween(app.submittedAt, app.decidedAt!) - (app.pausedWorkingDays ?? 0));
      t.finalDecisions += 1;
      if (days <= QUICK_DAYS) t.within3WorkingDays += 1;
      histogram.set(days, (histogram.get(days) ?? 0) + 1);
    }
  }

  const overdueNow = { committed: 0, statutory: 0 };
  const lateOpen = { committed: 0, statutory: 0 };
  const passedInPeriod = (deadline: string | undefined): boolean => !!deadline && deadline >= q.from && deadline <= q.to && deadline < today;
  const open = Application.find(match({ status: { $in: ['pending', 'in_review'] } }), { stages: 1, stageIndex: 1 })
    .lean<ApplicationDoc[]>()
    .cursor();
  let backlogNow = 0;
  for await (const app of open as AsyncIterable<ApplicationDoc>) {
    backlogNow += 1;
    const stage = app.stages[app.stageIndex];
    if (stage?.committedDeadline && stage.committedDeadline < today) overdueNow.committed += 1;
    if (stage?.statutoryDeadline && stage.statutoryDeadline < today) overdueNow.statutory += 1;
    if (passedInPeriod(stage?.committedDeadline)) lateOpen.committed += 1;
    if (passedInPeriod(stage?.statutoryDeadline)) lateOpen.statutory += 1;
  }

  const complaintScope = (...extra: Record<string, unknown>[]) => trustedFilter({ $and: [{}, ...scope, ...extra] });
  const Complaint = ctx.models.Complaint;
  const [complaintsReceived, answered, answeredOnTime, openNow, overdueComplaints] = await Promise.all([
    Complaint.countDocuments(complaintScope({ createdAt: inPeriod })),
    Complaint.countDocuments(complaintScope({ createdAt: inPeriod, answeredAt: { $exists: true, $ne: null } })),
    Complaint.countDocuments(complaintScope({ createdAt: inPeriod, answeredOnTime: true })),
    Complaint.countDocuments(complaintScope({ status: 'open' })),
    Complaint.countDocuments(complaintScope({ status: 'open', responseDeadline: { $lt: today } })),
  ]);

  return {
    period: { from: q.from, to: q.to },
    scope: { jurisdiction: countyWide(p) ? 'all' : (p.jurisdiction ?? []), type: q.type ?? null, division: q.division ?? null },
    asOf: now.toISOString(),
    today,
    counts,
    timeliness: {
      stageDecisions: t.stageDecisions,
      onTimeCommitted: t.onTimeCommitted,
      onTimeCommittedRate: rate(t.onTimeCommitted, t.stageDecisions + lateOpen.committed),
      onTimeStatutory: t.onTimeStatutory,
      onTimeStatutoryRate: rate(t.onTimeStatutory, t.stageDecisions + lateOpen.statutory),
      lateOpenCommitted: lateOpen.committed,
      lateOpenStatutory: lateOpen.statutory,
      finalDecisions: t.finalDecisions,
      within3WorkingDays: t.within3WorkingDays,
      within3WorkingDaysShare: rate(t.within3WorkingDays, t.finalDecisions),
      medianWorkingDays: median(histogram, t.finalDecisions),
      p90WorkingDays: t.finalDecisions ? nthSmallest(histogram, Math.ceil(0.9 * t.finalDecisions)) : null,
    },
    overdueNow,
    backlogNow,
    complaints: {
      received: complaintsReceived,
      answered,
      answeredOnTime,
      answerRate: rate(answered, complaintsReceived),
      onTimeAnswerRate: rate(answeredOnTime, complaintsReceived),
      openNow,
      overdueNow: overdueComplaints,
    },
    certificates: await certificateCounts(ctx, p, q, types, inPeriod, now),
    ratings: await ratingCounts(ctx, scope, inPeriod),
  };
}

async function ratingCounts(ctx: Pick<AppContext, 'models'>, scope: Record<string, unknown>[], inPeriod: { $gte: Date; $lt: Date }): Promise<Stats['ratings']> {
  const rows = await ctx.models.Rating.aggregate<{ _id: { score: number; followUp: string | null; onTime: boolean | null }; n: number }>([
    { $match: trustedFilter({ $and: [{ createdAt: inPeriod }, ...scope] }) },
    { $group: { _id: { score: '$score', followUp: '$followUp.status', onTime: '$followUp.onTime' }, n: { $sum: 1 } } },
  ]);
  const r: Stats['ratings'] = { received: 0, byScore: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 }, satisfied: 0, satisfactionRate: null, bad: 0, followedUp: 0, followedUpOnTime: 0, followUpRate: null };
  for (const { _id, n } of rows) {
    r.received += n;
    r.byScore[String(_id.score) as keyof Stats['ratings']['byScore']] += n;
    if (_id.score >= 3) r.satisfied += n;
    if (_id.score <= 2) r.bad += n;
    if (_id.followUp === 'done') r.followedUp += n;
    if (_id.followUp === 'done' && _id.onTime === true) r.followedUpOnTime += n;
  }
  r.satisfactionRate = rate(r.satisfied, r.received);
  r.followUpRate = rate(r.followedUp, r.bad);
  return r;
}

async function certificateCounts(
  ctx: Pick<AppContext, 'models'>,
  p: Principal,
  q: StatsQuery,
  types: string[],
  inPeriod: { $gte: Date; $lt: Date },
  now: Date,
): Promise<Stats['certificates']> {
  const clauses: Record<string, unknown>[] = [jurisdictionFilter(p, 'issuerDivision')];
  if (q.type) clauses.push({ type: q.type });
  if (q.division) clauses.push({ issuerDivision: { $regex: `^${q.division.replace(/\D/g, '')}` } });
  const filters: Record<CertificateFigure, Record<string, unknown>> = {
    issued: { issuedAt: inPeriod },
    revoked: { status: 'revoked', revokedAt: inPeriod },
    expired: { status: 'valid', $and: [{ validUntil: inPeriod }, { validUntil: { $lte: now } }] },
  };
  const out = {} as Stats['certificates'];
  for (const figure of CERTIFICATE_FIGURES) {
    const rows = await ctx.models.Certificate.aggregate<{ _id: string; n: number }>([
      { $match: trustedFilter({ $and: [{}, ...clauses, filters[figure]] }) },
      { $group: { _id: '$type', n: { $sum: 1 } } },
    ]);
    const byType = Object.fromEntries(types.map((t) => [t, 0]));
    for (const row of rows) byType[row._id] = row.n;
    out[figure] = { total: rows.reduce((sum, r) => sum + r.n, 0), byType };
  }
  return out;
}

const csvCell = (value: CsvValue): string => {
  const s = value === null ? '' : String(value);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export type CsvValue = string | number | null;

/** The same figures, one per row: `from,to,figure,dimension,key,value` (empty value = no data to divide). */
export function statsCsv(stats: Stats): string {
  return toCsv([['from', 'to', 'figure', 'dimension', 'key', 'value'], ...statsRows(stats)]);
}

/** Lines of cells as CSV (CRLF line ends, as spreadsheets expect). */
export const toCsv = (rows: CsvValue[][]): string => `${rows.map((r) => r.map(csvCell).join(',')).join('\r\n')}\r\n`;

/** Every figure of `stats` as `[from, to, figure, dimension, key, value]`. */
export function statsRows(stats: Stats): CsvValue[][] {
  const rows: CsvValue[][] = [];
  const row = (figure: string, dimension: string, key: string, value: number | null) => rows.push([stats.period.from, stats.period.to, figure, dimension, key, value]);
  for (const figure of FIGURES) {
    row(figure, 'all', '', stats.counts.total[figure]);
    for (const [dimension, table] of [
      ['type', stats.counts.byType],
      ['stage', stats.counts.byStage],
      ['channel', stats.counts.byChannel],
    ] as const) {
      for (const [key, counts] of Object.entries(table)) row(figure, dimension, key, counts[figure]);
    }
  }
  for (const [figure, value] of Object.entries(stats.timeliness)) row(figure, 'all', '', value);
  row('overdueNowCommitted', 'all', '', stats.overdueNow.committed);
  row('overdueNowStatutory', 'all', '', stats.overdueNow.statutory);
  row('backlogNow', 'all', '', stats.backlogNow);
  for (const [figure, value] of Object.entries(stats.complaints)) row(`complaints.${figure}`, 'all', '', value);
  for (const [figure, value] of Object.entries(stats.ratings)) {
    if (typeof value === 'object' && value !== null) for (const [score, n] of Object.entries(value)) row(`ratings.${figure}`, 'score', score, n);
    else row(`ratings.${figure}`, 'all', '', value);
  }
  for (const figure of CERTIFICATE_FIGURES) {
    row(`certificates.${figure}`, 'all', '', stats.certificates[figure].total);
    for (const [type, n] of Object.entries(stats.certificates[figure].byType)) row(`certificates.${figure}`, 'type', type, n);
  }
  return rows;
}
