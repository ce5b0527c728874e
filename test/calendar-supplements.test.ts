import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addWorkingDays, calendarHorizon, deadlineDetail, loadCalendarSupplements, provisionalBetween, resetCalendarSupplements } from '../service/lib/workdays';

describe('Calendar supplements (schemas/calendar)', () => {
  afterEach(resetCalendarSupplements);

  it('when a year has no data, then deadlines in it are provisional; when its schedule is added, then they count its holidays and make-up days', () => {
    // Without data: plain Monday to Friday, day 1 Mon 3 … day 5 Fri 7 March.
    assert.deepEqual(deadlineDetail('2031-02-28', { value: 5, unit: 'working_days' }), { date: '2031-03-07', provisional: true });
    assert.deepEqual(loadCalendarSupplements(path.join(__dirname, 'fixtures', 'calendar')), [2031]);
    // Fri 2031-02-28 accepted: Mon 3 and Tue 4 March are off, Sat 8 March is worked.
    // Day 1 Wed 5, 2 Thu 6, 3 Fri 7, 4 Sat 8 (make-up day), 5 Mon 10.
    assert.equal(addWorkingDays('2031-02-28', 5), '2031-03-10');
    assert.equal(calendarHorizon().last, '2031-12-31');
    assert.equal(provisionalBetween('2031-02-28', '2031-03-10'), false);
    // Years in between stay provisional: no gap is taken for official data.
    assert.equal(provisionalBetween('2029-06-01', '2029-06-04'), true);
  });

  it('when a supplement is wrong, then loading stops and names the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-cal-'));
    fs.writeFileSync(path.join(dir, '2032.json'), JSON.stringify({ year: 2032, source: 'x', holidays: { '2033-01-01': '元旦' }, workdays: {} }));
    assert.throws(() => loadCalendarSupplements(dir), /2032\.json.*2033-01-01 is not a date in 2032/);
  });
});
