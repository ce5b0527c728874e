import fs from 'node:fs';
import path from 'node:path';
import calendarData from 'chinese-days/dist/chinese-days.json';

/**
 * Working days on the official Chinese calendar: Monday to Friday, minus statutory holidays and the
 * weekdays given off around them, plus the weekend days declared working days (调休上班).
 *
 * We read the data file chinese-days ships (`dist/chinese-days.json`, built with the package)
 * instead of calling `isWorkday`: the package parses date strings as UTC midnight and reads them back
 * in the process's local time zone, and builds its in-memory tables the same way at load time, so
 * on a host west of UTC both its answers and its tables are a day off (with TZ=America/New_York it
 * calls Monday 2026-02-23, a Spring Festival day, a working day). Our dates are plain calendar
 * strings and all arithmetic below is on UTC day numbers, so the host's time zone never matters.
 * The test suite checks that the file and the package's functions (run at UTC+8) agree on every date.
 *
 * The package silently treats any year it has no data for as plain Monday to Friday. We do the same
 * (a resident is never refused because our calendar ends), but say so: `provisionalBetween` tells
 * whether a range touched such a year, the deadline is stored as provisional, and it is recomputed
 * once the year's official schedule is added (`recomputeProvisionalDeadlines` in applications).
 */

export type IsoDate = string;

export interface TimeLimit {
  value: number;
  unit: 'working_days' | 'calendar_days';
}

const holidays: Record<string, string> = { ...calendarData.holidays };
const adjustedWorkdays: Record<string, string> = { ...calendarData.workdays };

/**
 * The years the data covers, taken from the data itself: every year with at least one entry (each
 * published schedule lists New Year's Day at least). The State Council publishes a year's schedule in
 * November or December of the year before, so the last covered year moves only when the package is
 * upgraded or an operator adds the year's schedule (`loadCalendarSupplements`); a gap in the middle
 * would be refused too, not treated as an ordinary year.
 */
const coveredYears = new Set<number>(
  [...Object.keys(holidays), ...Object.keys(adjustedWorkdays)].map((date) => Number(date.slice(0, 4))),
);
let firstYear = Math.min(...coveredYears);
let lastYear = Math.max(...coveredYears);

/** Back to the package's data alone (tests that load supplements restore the shared tables). */
export function resetCalendarSupplements(): void {
  for (const table of [holidays, adjustedWorkdays]) for (const date of Object.keys(table)) delete table[date];
  Object.assign(holidays, calendarData.holidays);
  Object.assign(adjustedWorkdays, calendarData.workdays);
  coveredYears.clear();
  for (const date of [...Object.keys(holidays), ...Object.keys(adjustedWorkdays)]) coveredYears.add(Number(date.slice(0, 4)));
  firstYear = Math.min(...coveredYears);
  lastYear = Math.max(...coveredYears);
}

export interface CalendarSupplement {
  year: number;
  /** The State Council notice the dates come from, for the auditor. */
  source: string;
  /** Days off: date → name of the holiday. */
  holidays: Record<string, string>;
  /** Weekend days declared working days: date → the holiday they make up for. */
  workdays: Record<string, string>;
}

/**
 * Adds whole years of the official schedule from `<dir>/<year>.json` files, so that a bureau can
 * keep computing deadlines once the State Council has published next year's schedule and before a
 * chinese-days release carries it. A file replaces the package's data for its year. Every date must
 * lie in the file's year; a bad file stops start-up with its name.
 */
export function loadCalendarSupplements(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const loaded: number[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => /^\d{4}\.json$/.test(f)).sort()) {
    const full = path.join(dir, file);
    const data = JSON.parse(fs.readFileSync(full, 'utf8')) as CalendarSupplement;
    const year = Number(file.slice(0, 4));
    const problems: string[] = [];
    if (data.year !== year) problems.push(`"year" must be ${year}`);
    if (typeof data.source !== 'string' || data.source.trim() === '') problems.push('"source" must name the State Council notice');
    for (const key of ['holidays', 'workdays'] as const) {
      const table = data[key];
      if (!table || typeof table !== 'object') problems.push(`"${key}" must be an object of date → name`);
      else
        for (const [date, name] of Object.entries(table)) {
          if (!ISO_DATE.test(date) || isoDate(dayNumberUnchecked(date)) !== date || Number(date.slice(0, 4)) !== year) problems.push(`${key}: ${date} is not a date in ${year}`);
          if (typeof name !== 'string') problems.push(`${key}: ${date} needs a name`);
        }
    }
    if (Object.keys(data.holidays ?? {}).length === 0) problems.push('"holidays" is empty (every year has New Year\'s Day)');
    if (problems.length) throw new Error(`calendar supplement ${full}: ${problems.join('; ')}`);
    for (const table of [holidays, adjustedWorkdays]) for (const date of Object.keys(table)) if (date.startsWith(`${year}-`)) delete table[date];
    Object.assign(holidays, data.holidays);
    Object.assign(adjustedWorkdays, data.workdays);
    coveredYears.add(year);
    loaded.push(year);
  }
  firstYear = Math.min(...coveredYears);
  lastYear = Math.max(...coveredYears);
  return loaded;
}

/** The first and last dates the official calendar data covers, for operators and readiness checks. */
export function calendarHorizon(): { first: IsoDate; last: IsoDate } {
  return { first: `${firstYear}-01-01`, last: `${lastYear}-12-31` };
}

const DAY_MS = 86_400_000;
const CHINA_OFFSET_MS = 8 * 3_600_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A calendar date as the schemas take it, `YYYY-MM-DD` (a JSON Schema `pattern`). */
export const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';

/**
 * A period as an address gives it (the register and dashboard pages): `to` defaults to today and
 * `from` to the first day of `to`'s month; a malformed value is not applied.
 */
export function periodOf(from: unknown, to: unknown, today: IsoDate): { from: IsoDate; to: IsoDate } {
  const day = (v: unknown): v is IsoDate => typeof v === 'string' && ISO_DATE.test(v);
  const last = day(to) ? to : today;
  return { from: day(from) ? from : `${last.slice(0, 8)}01`, to: last };
}

/** Today in China, by the injected clock: the one way the service says "today". */
export const todayInChina = (clock: { now(): Date }): IsoDate => chinaDate(clock.now());

/** The calendar date in China (UTC+8 all year: no daylight saving since 1991) at an instant. */
export function chinaDate(at: Date): IsoDate {
  const ms = at.getTime();
  if (Number.isNaN(ms)) throw new RangeError('chinaDate: invalid Date');
  return new Date(ms + CHINA_OFFSET_MS).toISOString().slice(0, 10);
}

function dayNumberUnchecked(date: IsoDate): number {
  const m = ISO_DATE.exec(date);
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS : NaN;
}

function dayNumber(date: IsoDate): number {
  const m = ISO_DATE.exec(date);
  const n = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS : NaN;
  if (Number.isNaN(n) || isoDate(n) !== date) throw new RangeError(`not a calendar date (YYYY-MM-DD): ${date}`);
  return n;
}

function isoDate(day: number): IsoDate {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function toDayNumber(at: Date | IsoDate): number {
  return dayNumber(typeof at === 'string' ? at : chinaDate(at));
}

/**
 * Did counting from `from` to `to` touch a year the official data does not cover? Such a year was
 * counted Monday to Friday, so a deadline computed over it is provisional.
 */
export function provisionalBetween(from: Date | IsoDate, to: Date | IsoDate): boolean {
  const first = Number(isoDate(toDayNumber(from)).slice(0, 4));
  const last = Number(isoDate(toDayNumber(to)).slice(0, 4));
  for (let year = Math.min(first, last); year <= Math.max(first, last); year += 1) if (!coveredYears.has(year)) return true;
  return false;
}

function isWorkingDayNumber(day: number): boolean {
  const date = isoDate(day);
  if (adjustedWorkdays[date]) return true;
  if (holidays[date]) return false;
  const weekday = new Date(day * DAY_MS).getUTCDay();
  return weekday !== 0 && weekday !== 6;
}

export function isWorkingDay(date: IsoDate): boolean {
  return isWorkingDayNumber(dayNumber(date));
}

function requireCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
}

/**
 * The date of working day `n` counted from an acceptance: day 1 is the first working day after the
 * acceptance date (whatever kind of day that was), and the limit ends with the end of day `n`.
 * `n = 0` is the acceptance date itself.
 */
export function addWorkingDays(acceptedAt: Date | IsoDate, n: number): IsoDate {
  requireCount(n, 'working days');
  let day = toDayNumber(acceptedAt);
  for (let counted = 0; counted < n; ) {
    day += 1;
    if (isWorkingDayNumber(day)) counted += 1;
  }
  return isoDate(day);
}

/** Working days after `from` up to and including `to`; 0 on the same day. */
export function workingDaysBetween(from: Date | IsoDate, to: Date | IsoDate): number {
  const start = toDayNumber(from);
  const end = toDayNumber(to);
  if (end < start) throw new RangeError(`workingDaysBetween: ${isoDate(end)} is before ${isoDate(start)}`);
  let count = 0;
  for (let day = start + 1; day <= end; day += 1) if (isWorkingDayNumber(day)) count += 1;
  return count;
}

/**
 * Day `n` counted in calendar days, day 1 being the day after acceptance. Needs no holiday data, so
 * it has no horizon.
 */
export function addCalendarDays(acceptedAt: Date | IsoDate, n: number): IsoDate {
  requireCount(n, 'calendar days');
  return isoDate(toDayNumber(acceptedAt) + n);
}

/**
 * Civil Code art. 203: a period counted in days whose last day is a statutory rest day (a holiday or a
 * weekend not declared a working day) ends on the first working day after it.
 */
export function rollToWorkingDay(date: IsoDate): IsoDate {
  let day = dayNumber(date);
  while (!isWorkingDayNumber(day)) day += 1;
  return isoDate(day);
}

/**
 * The last day of a time limit, in the unit stored with it; a limit in calendar days ending on a rest
 * day rolls to the next working day (art. 203). While an application is returned for
 * supplement its clock stands still, so the deadline moves out by the working days the pause lasted
 * (the caller measures them with `workingDaysBetween`). For a limit in calendar days the pause is
 * still added as working days after the calendar deadline: that is exactly the working time the
 * authority lost, and the pause is only ever measured in working days.
 */
export function deadlineFor(acceptedAt: Date | IsoDate, limit: TimeLimit, pausedWorkingDays = 0): IsoDate {
  requireCount(pausedWorkingDays, 'paused working days');
  if (limit.unit === 'working_days') return addWorkingDays(acceptedAt, limit.value + pausedWorkingDays);
  return addWorkingDays(rollToWorkingDay(addCalendarDays(acceptedAt, limit.value)), pausedWorkingDays);
}

/** A deadline and whether it was counted over a year without official data (then provisional). */
export function deadlineDetail(acceptedAt: Date | IsoDate, limit: TimeLimit, pausedWorkingDays = 0): { date: IsoDate; provisional: boolean } {
  const date = deadlineFor(acceptedAt, limit, pausedWorkingDays);
  return { date, provisional: provisionalBetween(acceptedAt, date) };
}

/**
 * How far the official holiday calendar reaches. Deadlines beyond it are counted Monday to Friday
 * and marked provisional until an operator adds next year's schedule (schemas/calendar/README.md).
 */
export function calendarStatus(now: Date): { coversUntil: string; daysLeft: number; warning?: string } {
  const { last } = calendarHorizon();
  const daysLeft = Math.round((Date.parse(`${last}T00:00:00Z`) - Date.parse(`${chinaDate(now)}T00:00:00Z`)) / 86_400_000);
  return {
    coversUntil: last,
    daysLeft,
    ...(daysLeft < 45 ? { warning: 'add next year’s official holiday schedule to schemas/calendar/ (see its README) before deadlines cross the horizon' } : {}),
  };
}
