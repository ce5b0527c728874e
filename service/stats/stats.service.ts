import type { AppContext } from '../context';
import { assertRight, countyWide } from '../lib/access';
import type { Principal } from '../lib/auth';
import { chinaDate, workingDaysBetween, type IsoDate } from '../lib/workdays';
import { applicationEvents, certificateEvents, readOpenFacts, readPeriodFacts, townshipSelector, type ApplicationFact, type CertificateFact, type ComplaintFact, type OpenFacts, type PeriodFacts, type RatingFact } from './stats.store';
import { toCsv, type CsvValue } from '../lib/csv';

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
 * How it is computed: from the slim facts of the period buckets (stats.store.ts), read by `_id` for
 * the months overlapping the period and the townships of the scope, deduped by id and filtered in
 * memory by each fact's own dates and division, exactly as the documents were once filtered; the
 * backlog and what is overdue now from the open buckets. The cost follows the period's volume, not
 * the county's history. Working days need the official holiday calendar, which lives here, and a
 * median needs the distribution: a histogram of working days.
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

/** The facts a computation reads: a period's buckets and the open work, for a caller's scope. */
export interface StatsFacts {
  from: IsoDate;
  to: IsoDate;
  period: PeriodFacts;
  open: OpenFacts;
}

/** Reads, by `_id`, the buckets of the months from `from` to `to` and the open buckets of the caller's townships. */
export async function loadStatsFacts(ctx: Pick<AppContext, 'models'>, p: Principal, from: IsoDate, to: IsoDate): Promise<StatsFacts> {
  const wanted = townshipSelector(countyWide(p) ? null : (p.jurisdiction ?? []));
  const [period, open] = await Promise.all([readPeriodFacts(ctx.models, from, to, wanted), readOpenFacts(ctx.models, wanted)]);
  return { from, to, period, open };
}

/** Inside the caller's jurisdiction and the query's type and division prefix (the old scope filter, in memory). */
function scopeOf(p: Principal, q: StatsQuery): (division: string, type: string) => boolean {
  const all = countyWide(p);
  const codes = (p.jurisdiction ?? []).map((j) => j.replace(/\D/g, '')).filter(Boolean);
  const narrow = q.division?.replace(/\D/g, '') ?? '';
  return (division, type) => (all || codes.some((c) => division.startsWith(c))) && (!q.type || type === q.type) && division.startsWith(narrow);
}

export async function computeStats(ctx: Pick<AppContext, 'models' | 'clock' | 'policy'>, p: Principal, q: StatsQuery): Promise<Stats> {
  assertRight(p, 'stats:read');
  return statsFrom(ctx, await loadStatsFacts(ctx, p, q.from, q.to), p, q);
}

/** The figures of `q` (a period inside the facts' period) from facts already read. */
export function statsFrom(ctx: Pick<AppContext, 'clock' | 'policy'>, facts: StatsFacts, p: Principal, q: StatsQuery): Stats {
  assertRight(p, 'stats:read');
  if (q.from < facts.from || q.to > facts.to) throw new RangeError('the period is outside the facts read');
  const start = startOfChinaDay(q.from).getTime();
  const end = startOfChinaDay(q.to).getTime() + DAY_MS;
  const inPeriod = (d: Date | string | undefined | null): boolean => {
    if (!d) return false;
    const t = d instanceof Date ? d.getTime() : Date.parse(d);
    return t >= start && t < end;
  };
  const now = ctx.clock.now();
  const today = chinaDate(now);
  const inScope = scopeOf(p, q);

  const types = ctx.policy.types.map((t) => t.code);
  const counts: Stats['counts'] = {
    total: zero(),
    byType: Object.fromEntries(types.map((t) => [t, zero()])),
    byStage: Object.fromEntries(STAGES.map((s) => [s, zero()])),
    byChannel: Object.fromEntries(CHANNELS.map((c) => [c, zero()])),
  };
  const add = (figure: Figure, key: { type: string; channel: string; level?: string }): void => {
    const level = key.level ?? 'unknown';
    counts.total[figure] += 1;
    (counts.byType[key.type] ??= zero())[figure] += 1;
    (counts.byStage[level] ??= zero())[figure] += 1;
    (counts.byChannel[key.channel] ??= zero())[figure] += 1;
  };

  const t = { stageDecisions: 0, onTimeCommitted: 0, onTimeStatutory: 0, finalDecisions: 0, within3WorkingDays: 0 };
  const histogram = new Map<number, number>();
  for (const f of facts.period.applications.values()) {
    if (!inScope(f.division, f.type)) continue;
    if (inPeriod(f.submittedAt)) add('received', { type: f.type, channel: f.channel, level: ctx.policy.type(f.type)?.stages[0]?.level });
    const final = (f.state === 'approved' || f.state === 'rejected') && inPeriod(f.decidedAt);
    if (final) {
      add(f.state as Figure, f);
      add('decided', f);
    }
    if (inPeriod(f.returnedAt)) add('returned', f);
    if (f.state === 'withdrawn' && inPeriod(f.withdrawnAt)) add('withdrawn', f);
    for (const stage of f.stages) {
      if (!inPeriod(stage.decidedAt)) continue;
      const day = chinaDate(new Date(stage.decidedAt));
      t.stageDecisions += 1;
      if (stage.committed && day <= stage.committed) t.onTimeCommitted += 1;
      if (stage.statutory && day <= stage.statutory) t.onTimeStatutory += 1;
    }
    if (final) {
      const days = Math.max(0, workingDaysBetween(new Date(f.submittedAt), new Date(f.decidedAt!)) - (f.pausedWorkingDays ?? 0));
      t.finalDecisions += 1;
      if (days <= QUICK_DAYS) t.within3WorkingDays += 1;
      histogram.set(days, (histogram.get(days) ?? 0) + 1);
    }
  }

  const overdueNow = { committed: 0, statutory: 0 };
  const lateOpen = { committed: 0, statutory: 0 };
  const passedInPeriod = (deadline: string | undefined): boolean => !!deadline && deadline >= q.from && deadline <= q.to && deadline < today;
  let backlogNow = 0;
  for (const open of facts.open.applications.values()) {
    if (!inScope(open.division, open.type)) continue;
    backlogNow += 1;
    if (open.committed && open.committed < today) overdueNow.committed += 1;
    if (open.statutory && open.statutory < today) overdueNow.statutory += 1;
    if (passedInPeriod(open.committed)) lateOpen.committed += 1;
    if (passedInPeriod(open.statutory)) lateOpen.statutory += 1;
  }

  const complaints = { received: 0, answered: 0, answeredOnTime: 0, openNow: 0, overdueNow: 0 };
  for (const c of facts.period.complaints.values()) {
    if (!inScope(c.division, c.type) || !inPeriod(c.createdAt)) continue;
    complaints.received += 1;
    if (c.answered) complaints.answered += 1;
    if (c.answeredOnTime) complaints.answeredOnTime += 1;
  }
  for (const c of facts.open.complaints.values()) {
    if (!inScope(c.division, c.type)) continue;
    complaints.openNow += 1;
    if (c.responseDeadline < today) complaints.overdueNow += 1;
  }

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
      received: complaints.received,
      answered: complaints.answered,
      answeredOnTime: complaints.answeredOnTime,
      answerRate: rate(complaints.answered, complaints.received),
      onTimeAnswerRate: rate(complaints.answeredOnTime, complaints.received),
      openNow: complaints.openNow,
      overdueNow: complaints.overdueNow,
    },
    certificates: certificateCounts(facts.period, inScope, types, inPeriod, now),
    ratings: ratingCounts(facts.period, inScope, inPeriod),
  };
}

/**
 * statsFrom for several queries over facts read once (the dashboard: the period and each week of its
 * trend, or each township). Each query walks only the facts it can count: those with a date it
 * counts it by inside its period (its events, stats.store.ts; and, for a division, inside that
 * division), picked in one cheap pass;
 * the figures are exactly statsFrom's over all the facts.
 */
export function statsForEach(ctx: Pick<AppContext, 'clock' | 'policy'>, facts: StatsFacts, p: Principal, queries: StatsQuery[]): Stats[] {
  const bounds = queries.map((q) => ({ start: startOfChinaDay(q.from).getTime(), end: startOfChinaDay(q.to).getTime() + DAY_MS, division: q.division?.replace(/\D/g, '') ?? '' }));
  const narrowed = queries.map((): PeriodFacts => ({ applications: new Map(), complaints: new Map(), ratings: new Map(), certificates: new Map() }));
  const pick = <T>(section: keyof PeriodFacts, division: (f: T) => string, events: (f: T) => Date[]) => {
    for (const [id, f] of facts.period[section] as Map<string, T>) {
      const times = events(f).map((d) => d.getTime());
      const where = division(f);
      bounds.forEach((b, i) => {
        if (where.startsWith(b.division) && times.some((t) => t >= b.start && t < b.end)) (narrowed[i]![section] as Map<string, T>).set(id, f);
      });
    }
  };
  pick<ApplicationFact>('applications', (f) => f.division, applicationEvents);
  pick<ComplaintFact>('complaints', (f) => f.division, (f) => [f.createdAt]);
  pick<RatingFact>('ratings', (f) => f.division, (f) => [f.createdAt]);
  pick<CertificateFact>('certificates', (f) => f.issuerDivision, certificateEvents);
  return queries.map((q, i) => statsFrom(ctx, { ...facts, period: narrowed[i]! }, p, q));
}

type InScope = (division: string, type: string) => boolean;
type InPeriod = (d: Date | string | undefined | null) => boolean;

function ratingCounts(facts: PeriodFacts, inScope: InScope, inPeriod: InPeriod): Stats['ratings'] {
  const r: Stats['ratings'] = { received: 0, byScore: { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 }, satisfied: 0, satisfactionRate: null, bad: 0, followedUp: 0, followedUpOnTime: 0, followUpRate: null };
  for (const f of facts.ratings.values()) {
    if (!inScope(f.division, f.type) || !inPeriod(f.createdAt)) continue;
    r.received += 1;
    const score = String(f.score) as keyof Stats['ratings']['byScore'];
    if (score in r.byScore) r.byScore[score] += 1;
    if (f.score >= 3) r.satisfied += 1;
    if (f.score <= 2) r.bad += 1;
    if (f.followUp === 'done') r.followedUp += 1;
    if (f.followUp === 'done' && f.onTime === true) r.followedUpOnTime += 1;
  }
  r.satisfactionRate = rate(r.satisfied, r.received);
  r.followUpRate = rate(r.followedUp, r.bad);
  return r;
}

/** Scoped by the issuing authority's division (a township officer: what the township issued). */
function certificateCounts(facts: PeriodFacts, inScope: InScope, types: string[], inPeriod: InPeriod, now: Date): Stats['certificates'] {
  const out = {} as Stats['certificates'];
  for (const figure of CERTIFICATE_FIGURES) out[figure] = { total: 0, byType: Object.fromEntries(types.map((t) => [t, 0])) };
  const count = (figure: CertificateFigure, type: string) => {
    out[figure].total += 1;
    out[figure].byType[type] = (out[figure].byType[type] ?? 0) + 1;
  };
  for (const c of facts.certificates.values()) {
    if (!inScope(c.issuerDivision, c.type)) continue;
    if (inPeriod(c.issuedAt)) count('issued', c.type);
    if (c.status === 'revoked' && inPeriod(c.revokedAt)) count('revoked', c.type);
    if (c.status === 'valid' && inPeriod(c.validUntil) && new Date(c.validUntil!).getTime() <= now.getTime()) count('expired', c.type);
  }
  return out;
}

/** The same figures, one per row: `from,to,figure,dimension,key,value` (empty value = no data to divide). */
export function statsCsv(stats: Stats): string {
  return toCsv([['from', 'to', 'figure', 'dimension', 'key', 'value'], ...statsRows(stats)]);
}


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
