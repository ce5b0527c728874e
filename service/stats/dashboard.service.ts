import type { AppContext } from '../context';
import { countyWide } from '../lib/access';
import { TOWNSHIPS, type Township } from '../divisions/divisions';
import type { Principal } from '../lib/auth';
import { AppError } from '../lib/errors';
import { chinaDate, type IsoDate } from '../lib/workdays';
import { assertRight } from '../lib/access';
import { toCsv, type CsvValue } from '../lib/csv';
import { loadStatsFacts, MAX_PERIOD_DAYS, statsForEach, statsRows, type Stats } from './stats.service';

/**
 * The bureau's dashboard: the stats use case (`statsFrom`) asked for the person's scope over a
 * period, for each township in that scope, and for each of the last weeks (the trend). Nothing is
 * counted here: every figure is the stats service's, so the page, its CSV and `GET /api/v1/stats`
 * never disagree. The period buckets are read once (by `_id`, stats.store.ts) for the whole span
 * the page shows, and every figure is computed from them in memory.
 */

type Ctx = Pick<AppContext, 'models' | 'clock' | 'policy'>;

/** Weeks in the trend chart (Monday to Sunday, the last one ending with the period). */
export const TREND_WEEKS = 8;

export interface DashboardQuery {
  from: IsoDate;
  to: IsoDate;
  /** One township of the person's scope, or the whole scope. */
  township?: string;
}

export interface Dashboard {
  query: DashboardQuery;
  /** The townships this person may look at (an admin: all; an officer: those of their jurisdiction). */
  townships: readonly Township[];
  overall: Stats;
  /** The scope's townships one by one, when asked for (empty when one township is chosen). */
  byTownship: { township: Township; stats: Stats }[];
  /** The last TREND_WEEKS weeks up to the period's end, oldest first (none with the townships). */
  trend: Stats[];
}

/** Townships an officer's jurisdiction reaches (a county prefix reaches them all, a village its township). */
export function townshipsInScope(p: Principal): readonly Township[] {
  if (countyWide(p)) return TOWNSHIPS;
  const prefixes = p.jurisdiction ?? [];
  return TOWNSHIPS.filter((t) => prefixes.some((j) => t.code.startsWith(j) || j.startsWith(t.code)));
}

const DAY_MS = 86_400_000;
const addDays = (date: IsoDate, days: number): IsoDate => new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** Monday-to-Sunday weeks, the last one holding `to` (cut at `to`), oldest first. */
export function weeksUpTo(to: IsoDate, count = TREND_WEEKS): { from: IsoDate; to: IsoDate }[] {
  const weekday = (new Date(`${to}T00:00:00Z`).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const lastMonday = addDays(to, -weekday);
  return Array.from({ length: count }, (_v, i) => {
    const from = addDays(lastMonday, -7 * (count - 1 - i));
    const sunday = addDays(from, 6);
    return { from, to: sunday < to ? sunday : to };
  });
}

const refuse = (path: string, zh: string, en: string): never => {
  throw new AppError('validation_failed', undefined, [{ path, code: 'invalid', messages: { zh, en } }]);
};

/** The period rules of the stats API (ends today at the latest, a year and a day at most), and a township in scope. */
export function checkDashboardQuery(ctx: Pick<AppContext, 'clock'>, p: Principal, q: DashboardQuery): void {
  const today = chinaDate(ctx.clock.now());
  if (q.from > q.to) refuse('from', '开始日期不能晚于结束日期', 'The first day must not be after the last day');
  if (q.to > today) refuse('to', '结束日期不能晚于今天', 'The last day must not be after today');
  if ((Date.parse(q.to) - Date.parse(q.from)) / DAY_MS + 1 > MAX_PERIOD_DAYS) refuse('from', `统计期间最长 ${MAX_PERIOD_DAYS} 天`, `A period is at most ${MAX_PERIOD_DAYS} days`);
  if (q.township && !townshipsInScope(p).some((t) => t.code === q.township)) refuse('township', '该乡镇不在您的管辖范围内', 'That township is outside your jurisdiction');
}

/**
 * The dashboard computes the figures once for the period and once per week of the trend (9
 * computations); its township view once for the period and once per township (30 for the county),
 * all from one reading of the buckets.
 * Figures a minute old are good enough for a dashboard, so a result is kept for CACHE_MS per scope,
 * query and view (the page and its CSV then agree, and a second look costs nothing);
 * `overall.asOf` says when they were computed.
 */
export const CACHE_MS = 60_000;
const CACHE_MAX = 100;
const cache = new Map<string, { at: number; result: Promise<Dashboard> }>();

/** Drops every kept result (the scale bench times fresh computations of the same period). */
export function forgetDashboards(): void {
  cache.clear();
}

export async function dashboard(ctx: Ctx, p: Principal, q: DashboardQuery, view: 'trend' | 'townships' = 'trend'): Promise<Dashboard> {
  checkDashboardQuery(ctx, p, q);
  const scope = countyWide(p) ? 'all' : [...(p.jurisdiction ?? [])].sort().join(',');
  const key = JSON.stringify([ctx.models.Application.db.name, scope, q.from, q.to, q.township ?? '', view]);
  const now = ctx.clock.now().getTime();
  const hit = cache.get(key);
  if (hit && now - hit.at >= 0 && now - hit.at < CACHE_MS) return hit.result;
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  const result = compute(ctx, p, q, view);
  cache.set(key, { at: now, result });
  result.catch(() => cache.delete(key));
  return result;
}

async function compute(ctx: Ctx, p: Principal, q: DashboardQuery, view: 'trend' | 'townships'): Promise<Dashboard> {
  assertRight(p, 'stats:read');
  const townships = townshipsInScope(p);
  const division = q.township;
  const scoped = division ? { division } : {};
  const weeks = view === 'trend' ? weeksUpTo(q.to) : [];
  const from = weeks.length && weeks[0]!.from < q.from ? weeks[0]!.from : q.from;
  const facts = await loadStatsFacts(ctx, p, from, q.to);
  const [overall, ...trend] = statsForEach(ctx, facts, p, [{ from: q.from, to: q.to }, ...weeks].map((period) => ({ ...period, ...scoped })));
  const shown = division || view !== 'townships' ? [] : townships;
  const perTownship = statsForEach(ctx, facts, p, shown.map((township) => ({ from: q.from, to: q.to, division: township.code })));
  const byTownship = perTownship.map((stats, i) => ({ township: shown[i]!, stats }));
  return { query: q, townships, overall: overall!, byTownship, trend };
}

/**
 * Every figure of the dashboard, one per row: `series` says which table it is from (`period`: the
 * chosen scope over the period; `township`: one township over the period; `week`: one week of the
 * trend), `scope` the township code or `all`.
 */
export function dashboardCsv(d: Dashboard): string {
  const rows: CsvValue[][] = [['series', 'scope', 'from', 'to', 'figure', 'dimension', 'key', 'value']];
  const add = (series: string, scope: string, stats: Stats) => {
    for (const r of statsRows(stats)) rows.push([series, scope, ...r]);
  };
  add('period', d.query.township ?? 'all', d.overall);
  for (const t of d.byTownship) add('township', t.township.code, t.stats);
  for (const w of d.trend) add('week', d.query.township ?? 'all', w);
  return `\uFEFF${toCsv(rows)}`;
}
