import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  addCalendarDays,
  addWorkingDays,
  calendarHorizon,
  chinaDate,
  deadlineDetail,
  deadlineFor,
  isWorkingDay,
  provisionalBetween,
  workingDaysBetween,
} from '../service/lib/workdays';

/**
 * Expected dates are worked out by hand from the State Council's published schedules:
 * - 2025 Spring Festival: off Tue 28 Jan – Tue 4 Feb; working Sun 26 Jan and Sat 8 Feb.
 * - 2025 Qingming: off Fri 4 Apr – Sun 6 Apr.
 * - 2025 National Day + Mid-Autumn: off Wed 1 Oct – Wed 8 Oct; working Sun 28 Sep and Sat 11 Oct.
 * - 2026 Spring Festival: off Sun 15 Feb – Mon 23 Feb; working Sat 14 Feb and Sat 28 Feb.
 * - 2026 National Day: off Thu 1 Oct – Wed 7 Oct; working Sun 20 Sep and Sat 10 Oct.
 */

describe('working days on the official calendar', () => {
  it('when an instant is late evening UTC, then its China date is the next day', () => {
    assert.equal(chinaDate(new Date('2026-02-13T15:59:59Z')), '2026-02-13');
    assert.equal(chinaDate(new Date('2026-02-13T16:00:00Z')), '2026-02-14');
    assert.equal(chinaDate(new Date('2025-12-31T16:30:00Z')), '2026-01-01');
  });

  it('when a day is an adjusted working weekend day, then it counts; a holiday weekday does not', () => {
    assert.equal(isWorkingDay('2025-01-26'), true); // Sunday, worked before the Spring Festival
    assert.equal(isWorkingDay('2025-02-08'), true); // Saturday, worked after it
    assert.equal(isWorkingDay('2025-01-28'), false); // Tuesday, New Year's Eve holiday
    assert.equal(isWorkingDay('2025-02-09'), false); // ordinary Sunday
    assert.equal(isWorkingDay('2025-03-12'), true); // ordinary Wednesday
  });

  it('when accepted on a plain Monday, then 5 working days end the next Monday', () => {
    // Mon 10 Mar 2025: day 1 Tue 11, 2 Wed 12, 3 Thu 13, 4 Fri 14, 5 Mon 17.
    assert.equal(addWorkingDays('2025-03-10', 5), '2025-03-17');
    assert.equal(workingDaysBetween('2025-03-10', '2025-03-17'), 5);
  });

  it('when accepted on a Saturday, then day 1 is the Monday after', () => {
    // Sat 15 Mar 2025: day 1 Mon 17, 2 Tue 18, 3 Wed 19.
    assert.equal(addWorkingDays('2025-03-15', 1), '2025-03-17');
    assert.equal(addWorkingDays('2025-03-15', 3), '2025-03-19');
  });

  it('when accepted just before the 2025 Spring Festival, then the deadline skips the holiday and counts the working weekend days', () => {
    // Fri 24 Jan: 1 Sun 26 (worked), 2 Mon 27, [28 Jan – 4 Feb off], 3 Wed 5, 4 Thu 6, 5 Fri 7, 6 Sat 8 (worked),
    // 7 Mon 10, 8–11 Tue 11 – Fri 14, 12–16 Mon 17 – Fri 21, 17–20 Mon 24 – Thu 27.
    // Cross-check: 20 weekdays from 24 Jan end Fri 21 Feb; 6 weekdays off (28–31 Jan, 3–4 Feb) less 2 worked
    // weekend days is 4 more weekdays → Thu 27 Feb.
    assert.equal(addWorkingDays('2025-01-24', 20), '2025-02-27');
    assert.equal(addWorkingDays('2025-01-27', 1), '2025-02-05');
    assert.equal(addWorkingDays('2025-01-27', 4), '2025-02-08'); // the deadline falls on the worked Saturday
    assert.equal(workingDaysBetween('2025-01-24', '2025-02-05'), 3); // 26 Jan, 27 Jan, 5 Feb
  });

  it('when accepted just before the 2026 Spring Festival, then the deadline skips the nine-day holiday', () => {
    // Fri 13 Feb: 1 Sat 14 (worked), [15–23 Feb off], 2–5 Tue 24 – Fri 27, 6 Sat 28 (worked), 7–11 Mon 2 – Fri 6 Mar,
    // 12–16 Mon 9 – Fri 13, 17–20 Mon 16 – Thu 19.
    // Cross-check: 20 weekdays from 13 Feb end Fri 13 Mar; 6 weekdays off (16–20, 23 Feb) less 2 worked Saturdays
    // is 4 more weekdays → Thu 19 Mar.
    assert.equal(addWorkingDays('2026-02-13', 20), '2026-03-19');
    assert.equal(addWorkingDays('2026-02-13', 2), '2026-02-24');
  });

  it('when accepted at 00:30 China time on the worked Saturday, then that Saturday is the acceptance date, not day 1', () => {
    // 2026-02-13T16:30Z is Sat 14 Feb 00:30 in China: day 1 is Tue 24 Feb. Read as a UTC date (Fri 13 Feb)
    // it would wrongly make Sat 14 Feb day 1.
    assert.equal(addWorkingDays(new Date('2026-02-13T16:30:00Z'), 1), '2026-02-24');
    assert.equal(addWorkingDays(new Date('2026-02-13T15:30:00Z'), 1), '2026-02-14');
  });

  it('when accepted around National Day, then the Golden Week is skipped and the worked Sundays and Saturdays count', () => {
    // 2025: Tue 30 Sep → 1 Thu 9 Oct, 2 Fri 10, 3 Sat 11 (worked), 4 Mon 13.
    assert.equal(addWorkingDays('2025-09-30', 4), '2025-10-13');
    // 2025: Fri 26 Sep → 1 Sun 28 Sep (worked), 2 Mon 29, 3 Tue 30, 4 Thu 9 Oct.
    assert.equal(addWorkingDays('2025-09-26', 4), '2025-10-09');
    // 2026: Fri 18 Sep → 1 Sun 20 (worked), 2–5 Mon 21 – Thu 24, [Fri 25 Mid-Autumn off], 6–7 Mon 28 – Tue 29,
    // 8 Wed 30, [1–7 Oct off], 9 Thu 8 Oct, 10 Fri 9, 11 Sat 10 (worked).
    assert.equal(addWorkingDays('2026-09-18', 11), '2026-10-10');
  });

  it('when a limit is in calendar days, then it ignores holidays', () => {
    // Fri 24 Jan 2025 + 15 calendar days = Sat 8 Feb.
    assert.equal(addCalendarDays('2025-01-24', 15), '2025-02-08');
    assert.equal(deadlineFor('2025-01-24', { value: 15, unit: 'calendar_days' }), '2025-02-08');
    assert.equal(addCalendarDays('2028-02-27', 3), '2028-03-01'); // leap year; no holiday data needed
  });

  it('when the clock was paused, then the deadline moves out by the paused working days', () => {
    // Mon 10 Mar 2025, 20 working days: 11–14 Mar (4), 17–21 (9), 24–28 (14), 31 Mar – 3 Apr (18),
    // [Qingming 4–6 Apr off], 7 Apr (19), 8 Apr (20). Three more paused days: 9, 10, 11 Apr.
    const limit = { value: 20, unit: 'working_days' } as const;
    assert.equal(deadlineFor('2025-03-10', limit), '2025-04-08');
    assert.equal(deadlineFor('2025-03-10', limit, 3), '2025-04-11');
    // Calendar-day limit: Sat 8 Feb 2025, then 2 working days → Mon 10, Tue 11 Feb.
    assert.equal(deadlineFor('2025-01-24', { value: 15, unit: 'calendar_days' }, 2), '2025-02-11');
  });

  it('when counting working days between two dates, then it inverts addWorkingDays', () => {
    assert.equal(workingDaysBetween('2026-02-13', '2026-02-13'), 0);
    for (const accepted of ['2025-01-20', '2025-09-27', '2026-02-11', '2026-04-30']) {
      for (const n of [1, 3, 10, 20]) assert.equal(workingDaysBetween(accepted, addWorkingDays(accepted, n)), n);
    }
    assert.throws(() => workingDaysBetween('2025-02-01', '2025-01-31'), RangeError);
  });

  it('when a computation reaches past the last year of data, then it counts Monday to Friday and says it is provisional', () => {
    const { first, last } = calendarHorizon();
    assert.match(last, /^\d{4}-12-31$/);
    assert.ok(Number(last.slice(0, 4)) >= 2026, `chinese-days covers ${first} to ${last}`);
    const nextYear = Number(last.slice(0, 4)) + 1;
    // The first Monday of the next year is a plain working day, the Sunday before it is not.
    const firstMonday = [1, 2, 3, 4, 5, 6, 7].map((d) => `${nextYear}-01-0${d}`).find((d) => new Date(`${d}T00:00:00Z`).getUTCDay() === 1)!;
    assert.equal(isWorkingDay(firstMonday), true);
    assert.equal(provisionalBetween(last, firstMonday), true);
    assert.equal(provisionalBetween(`${last.slice(0, 4)}-06-01`, last), false);
    if (last === '2026-12-31') {
      // The last week of 2026 is official data; 2027 is counted Mon–Fri: Fri 25, Mon 28, Tue 29, Wed 30,
      // Thu 31, then Fri 1 Jan 2027 (New Year's Day, but unknown to us), Mon 4, Tue 5, Wed 6, Thu 7.
      assert.equal(addWorkingDays('2026-12-24', 4), '2026-12-30');
      assert.deepEqual(deadlineDetail('2026-12-24', { value: 4, unit: 'working_days' }), { date: '2026-12-30', provisional: false });
      assert.deepEqual(deadlineDetail('2026-12-24', { value: 10, unit: 'working_days' }), { date: '2027-01-07', provisional: true });
      assert.equal(workingDaysBetween('2026-12-31', '2027-01-08'), 6);
    }
  });

  it('when a computation reaches before the first year of data, then it is provisional too', () => {
    const { first } = calendarHorizon();
    assert.equal(first, '2004-01-01');
    assert.equal(provisionalBetween('2003-12-31', '2004-01-05'), true);
    assert.equal(isWorkingDay('2003-12-31'), true); // a Wednesday
  });

  it('when given something that is not a calendar date or count, then it throws instead of guessing', () => {
    assert.throws(() => isWorkingDay('2025-02-30'), RangeError);
    assert.throws(() => isWorkingDay('2025-2-3'), RangeError);
    assert.throws(() => addWorkingDays('2025-03-10', -1), RangeError);
    assert.throws(() => addWorkingDays('2025-03-10', 1.5), RangeError);
    assert.throws(() => chinaDate(new Date('nonsense')), RangeError);
  });

  it("when compared with chinese-days' own isWorkday (run at UTC+8) on every covered date, then both agree", () => {
    const { first, last } = calendarHorizon();
    // The package is only right in time zones at or east of UTC, so ask it in a child process at UTC+8.
    const script = `
      const { isWorkday } = require('chinese-days');
      const days = [];
      for (let d = new Date('${first}T12:00:00Z'); d <= new Date('${last}T12:00:00Z'); d.setUTCDate(d.getUTCDate() + 1)) {
        const date = d.toISOString().slice(0, 10);
        days.push(date + (isWorkday(date) ? '+' : '-'));
      }
      process.stdout.write(JSON.stringify(days));`;
    const out = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, TZ: 'Asia/Shanghai' } });
    const theirs: string[] = JSON.parse(out.toString());
    assert.ok(theirs.length > 365 * 20);
    for (const entry of theirs) {
      const date = entry.slice(0, 10);
      assert.equal(isWorkingDay(date), entry.endsWith('+'), date);
    }
  });
});
