import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { recomputeProvisionalDeadlines } from '../service/applications/applications.service';
import { FixedClock } from '../service/lib/clock';
import { loadCalendarSupplements, resetCalendarSupplements } from '../service/lib/workdays';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { readyBirthService } from './support/forms';

/**
 * Invented schedules for 2027, for these tests only (the real one is the State Council's notice,
 * which an operator adds to schemas/calendar/). Written to a temporary folder, never to schemas/.
 */
function supplement2027(table: { holidays: Record<string, string>; workdays: Record<string, string> }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-cal-2027-'));
  fs.writeFileSync(path.join(dir, '2027.json'), JSON.stringify({ year: 2027, source: 'TEST ONLY: invented, not the official schedule', ...table }));
  return dir;
}

describe('Deadlines past the holiday calendar: provisional, never a refusal', function () {
  this.timeout(60_000);
  // Thursday 2026-12-24 in China. Birth-service: committed 10, statutory 15 working days, both into 2027.
  const clock = new FixedClock('2026-12-24T02:00:00Z');
  let t: TestApp;
  before(async () => {
    t = await makeTestApp({ clock });
  });
  afterEach(resetCalendarSupplements);
  after(() => t.close());

  async function submitted(): Promise<string> {
    const applicant = await registerAndLogin(t.app);
    const ready = await readyBirthService(t.app, applicant.auth);
    const res = await request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', applicant.auth).send({}).expect(200);
    return res.body.id as string;
  }

  it('when a deadline reaches 2027, then the submission is accepted and the deadline is marked provisional everywhere', async () => {
    const applicant = await registerAndLogin(t.app);
    const ready = await readyBirthService(t.app, applicant.auth);
    const res = await request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', applicant.auth).send({}).expect(200);
    assert.equal(res.body.status, 'pending');
    assert.match(res.body.number, /^430725-2026-\d{6}$/);
    // Fri 25, Mon 28 … Thu 31, then 2027 counted Monday to Friday: Fri 1, Mon 4 … Thu 7 = day 10.
    assert.equal(res.body.stage.committedDeadline, '2027-01-07');
    assert.equal(res.body.stage.statutoryDeadline, '2027-01-14');
    assert.equal(res.body.stage.provisional, true);
    assert.equal(res.body.deadlineProvisional, true);
    const stored = await t.ctx.models.Application.findById(ready.id).lean();
    assert.equal(stored?.deadlineProvisional, true);

    const status = await request(t.app).post('/api/v1/status').send({ number: res.body.number, idNumber: applicant.idNumber }).expect(200);
    assert.equal(status.body.stage.provisional, true);

    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const queue = await request(t.app).get('/api/v1/queue').set('Authorization', officer.auth).expect(200);
    const item = queue.body.items.find((i: { id: string }) => i.id === ready.id);
    assert.equal(item.deadlineProvisional, true);

    const ready2 = await request(t.app).get('/readyz').expect(200);
    assert.equal(ready2.body.calendar.coversUntil, '2026-12-31');
    assert.ok(ready2.body.calendar.warning);
    assert.ok(ready2.body.calendar.provisionalDeadlines >= 1);
  });

  it('when the 2027 schedule arrives with a holiday, then the sweep moves the deadline later, records it and tells the resident', async () => {
    const id = await submitted();
    loadCalendarSupplements(supplement2027({ holidays: { '2027-01-01': '元旦（测试）' }, workdays: {} }));
    assert.ok((await recomputeProvisionalDeadlines(t.ctx)) >= 1);
    const app = await t.ctx.models.Application.findById(id).lean();
    assert.equal(app?.deadlineProvisional, false);
    assert.equal(app?.stages[0]?.provisional, false);
    assert.equal(app?.stages[0]?.committedDeadline, '2027-01-08');
    assert.equal(app?.stages[0]?.statutoryDeadline, '2027-01-15');
    assert.equal(app?.queueDeadline, '2027-01-08');
    const entry = app!.history.at(-1)!;
    assert.equal(entry.action, 'recompute-deadline');
    assert.equal(entry.actor.role, 'system');
    assert.deepEqual(entry.deadlines?.before, { statutory: '2027-01-14', committed: '2027-01-07' });
    assert.deepEqual(entry.deadlines?.after, { statutory: '2027-01-15', committed: '2027-01-08' });
    const notice = await t.ctx.models.Notification.findOne({ applicationId: id, event: 'deadline-changed' }).lean();
    assert.match(String(notice?.text), /2027-01-07.*2027-01-08/);
    // A second sweep finds nothing left to do.
    const historyLength = app!.history.length;
    await recomputeProvisionalDeadlines(t.ctx);
    assert.equal((await t.ctx.models.Application.findById(id).lean())!.history.length, historyLength);
  });

  it('when the schedule would move a deadline earlier, then the promised date stands and the history shows both', async () => {
    const id = await submitted();
    // A Saturday declared a working day: the official count ends a day sooner than promised.
    loadCalendarSupplements(supplement2027({ holidays: { '2027-02-10': '测试假日' }, workdays: { '2027-01-02': '测试调休上班' } }));
    await recomputeProvisionalDeadlines(t.ctx);
    const app = await t.ctx.models.Application.findById(id).lean();
    assert.equal(app?.deadlineProvisional, false);
    assert.equal(app?.stages[0]?.committedDeadline, '2027-01-07');
    assert.equal(app?.stages[0]?.statutoryDeadline, '2027-01-14');
    const entry = app!.history.at(-1)!;
    assert.equal(entry.action, 'recompute-deadline');
    assert.deepEqual(entry.deadlines?.counted, { statutory: '2027-01-13', committed: '2027-01-06' });
    assert.equal(await t.ctx.models.Notification.countDocuments({ applicationId: id, event: 'deadline-changed' }), 0);
  });
});
