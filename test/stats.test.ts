import assert from 'node:assert/strict';
import { Types } from 'mongoose';
import request from 'supertest';
import type { ApplicationDoc, StageState } from '../service/applications/applications.model';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, type TestApp } from './support/app';

/** An instant in China time, e.g. at('2025-10-09 10:00'). */
const at = (local: string): Date => new Date(`${local.replace(' ', 'T')}:00+08:00`);

const TOWNSHIP_A = '430725101202';
const TOWNSHIP_B = '430725102202';

const township = (entered: string, committed: string, statutory: string, decided?: string, division = TOWNSHIP_A): StageState => ({
  id: 'township-review',
  level: 'township',
  name: { zh: '乡镇审核', en: 'Township review' },
  division: division.slice(0, 9),
  enteredAt: at(entered),
  committedDeadline: committed,
  statutoryDeadline: statutory,
  ...(decided ? { decidedAt: at(decided) } : {}),
});

interface Seed {
  type?: string;
  status: ApplicationDoc['status'];
  channel?: 'online' | 'terminal';
  division?: string;
  submitted?: string;
  decided?: string;
  returned?: string;
  paused?: number;
  updated?: string;
  stages: StageState[];
  stageIndex?: number;
}

/**
 * Seeds applications across National Day 2025 (1–8 October off; Sunday 28 September and Saturday
 * 11 October worked). Deadlines are those the catalogue gives (checked against lib/workdays):
 * birth service 10/15 working days, migrant marriage 1/5, re-birth permit 10 working / 15 calendar.
 */
describe('Statistics: figures over a holiday period, scoped to the jurisdiction, as JSON and CSV', function () {
  this.timeout(60_000);
  const clock = new FixedClock(at('2025-11-03 10:00'));
  let t: TestApp;
  let officerA: Awaited<ReturnType<typeof staffLogin>>;
  let officerB: Awaited<ReturnType<typeof staffLogin>>;
  let admin: Awaited<ReturnType<typeof staffLogin>>;
  const ids: Record<string, Types.ObjectId> = {};

  async function seed(name: string, s: Seed): Promise<void> {
    const division = s.division ?? TOWNSHIP_A;
    const stage = s.stages[s.stageIndex ?? 0];
    const doc = await t.ctx.models.Application.create({
      number: `430725-2025-${name}`,
      type: s.type ?? 'birth-service',
      status: s.status,
      channel: s.channel ?? 'online',
      resident: { name: '测试', idHash: `h-${name}`, idNumberEnc: 'x', idMasked: '430725********0000' },
      formSealed: 'sealed-form-not-read-by-stats',
      division,
      stages: s.stages,
      stageIndex: s.stageIndex ?? 0,
      queueLevel: stage?.level,
      queueDivision: stage?.division,
      queueDeadline: stage?.committedDeadline,
      submittedAt: s.submitted ? at(s.submitted) : undefined,
      decidedAt: s.decided ? at(s.decided) : undefined,
      returnedAt: s.returned ? at(s.returned) : undefined,
      pausedWorkingDays: s.paused ?? 0,
      documents: [],
      history: [],
      createdAt: at(s.submitted ?? '2025-09-01 08:00'),
      updatedAt: at(s.updated ?? s.decided ?? s.submitted ?? '2025-09-01 08:00'),
    });
    ids[name] = doc._id;
  }

  async function complaint(name: string, on: string, filed: string, deadline: string, answered?: string) {
    const app = await t.ctx.models.Application.findById(ids[on]).lean<ApplicationDoc>();
    await t.ctx.models.Complaint.create({
      applicationId: ids[on]!.toString(),
      applicationNumber: app!.number,
      type: app!.type,
      division: app!.division,
      recipient: {},
      filedBy: { id: 'a', role: 'applicant', name: '测试' },
      channel: 'online',
      text: `投诉 ${name}`,
      status: answered ? 'answered' : 'open',
      createdAt: at(filed),
      responseDeadline: deadline,
      ...(answered
        ? { answer: { text: '已处理', by: { id: 'o', role: 'officer', name: '王芳' }, at: at(answered) }, answeredAt: at(answered), answeredOnTime: answered.slice(0, 10) <= deadline }
        : {}),
    });
  }

  before(async () => {
    t = await makeTestApp({ clock });
    officerA = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    officerB = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    admin = await staffLogin(t, { role: 'admin' });

    // Decided the next working day after the holiday: 1 working day, on time.
    await seed('A1', { status: 'approved', submitted: '2025-09-30 10:00', decided: '2025-10-09 10:00', stages: [township('2025-09-30 10:00', '2025-10-21', '2025-10-28', '2025-10-09 10:00')] });
    // Migrant marriage filed at a kiosk: promised in 1 working day (30 Sept), decided on the worked Saturday: 4 days, late on the committed limit only.
    await seed('A2', {
      type: 'migrant-marriage',
      channel: 'terminal',
      status: 'approved',
      submitted: '2025-09-29 09:00',
      decided: '2025-10-11 15:00',
      stages: [township('2025-09-29 09:00', '2025-09-30', '2025-10-13', '2025-10-11 15:00')],
    });
    // Returned on 10 Oct, resubmitted 14 Oct (3 working days paused), rejected 16 Oct: 6 − 3 = 3 working days.
    await seed('A3', {
      status: 'rejected',
      submitted: '2025-10-09 09:00',
      returned: '2025-10-10 10:00',
      paused: 3,
      decided: '2025-10-16 11:00',
      stages: [township('2025-10-09 09:00', '2025-10-27', '2025-11-03', '2025-10-16 11:00')],
    });
    // Re-birth permit: township approved on 13 Oct (on time), now waiting at the county past both deadlines.
    await seed('A4', {
      type: 'rebirth-permit',
      status: 'pending',
      submitted: '2025-09-30 11:00',
      stageIndex: 1,
      stages: [
        { ...township('2025-09-30 11:00', '2025-10-21', '2025-10-15', '2025-10-13 16:00'), id: 'township-review' },
        { id: 'county-decision', level: 'county', name: { zh: '县级审批', en: 'County decision' }, division: '430725', enteredAt: at('2025-10-13 16:00'), committedDeadline: '2025-10-27', statutoryDeadline: '2025-10-28' },
      ],
    });
    // Pending, committed deadline is today: not overdue yet.
    await seed('A5', { status: 'pending', submitted: '2025-10-20 09:00', stages: [township('2025-10-20 09:00', '2025-11-03', '2025-11-10')] });
    // Another township: decided on the day of submission (0 days); only the admin and officer B count it.
    await seed('A6', {
      status: 'approved',
      division: TOWNSHIP_B,
      submitted: '2025-10-09 09:00',
      decided: '2025-10-09 17:00',
      stages: [township('2025-10-09 09:00', '2025-10-22', '2025-10-29', '2025-10-09 17:00', TOWNSHIP_B)],
    });
    await seed('A7', { status: 'withdrawn', submitted: '2025-10-13 09:00', updated: '2025-10-15 09:00', stages: [township('2025-10-13 09:00', '2025-10-27', '2025-11-03')] });
    // Decided before the period: counts nowhere.
    await seed('A8', { status: 'approved', submitted: '2025-09-01 09:00', decided: '2025-09-05 09:00', stages: [township('2025-09-01 09:00', '2025-09-15', '2025-09-22', '2025-09-05 09:00')] });
    // 23:30 on 31 Oct in China is inside the period; 00:30 on 1 Nov (still 31 Oct in UTC) is not.
    await seed('A9', { status: 'pending', submitted: '2025-10-31 23:30', stages: [township('2025-10-31 23:30', '2025-11-14', '2025-11-21')] });
    await seed('A10', { status: 'pending', submitted: '2025-11-01 00:30', stages: [township('2025-11-01 00:30', '2025-11-14', '2025-11-21')] });
    // 14 working days, late on the committed limit (20 Oct), on time on the statutory one (27 Oct).
    await seed('A11', { status: 'approved', submitted: '2025-09-29 09:00', decided: '2025-10-24 09:00', stages: [township('2025-09-29 09:00', '2025-10-20', '2025-10-27', '2025-10-24 09:00')] });
    // A draft never counts.
    await seed('A12', { status: 'draft', stages: [] });

    await complaint('C1', 'A1', '2025-10-10 09:00', '2025-10-16', '2025-10-15 09:00');
    await complaint('C2', 'A3', '2025-10-20 09:00', '2025-10-27');
    await complaint('C3', 'A6', '2025-10-21 09:00', '2025-10-28', '2025-10-30 09:00');
  });
  after(() => t.close());

  const stats = (auth: string, query = 'from=2025-09-29&to=2025-10-31') => request(t.app).get(`/api/v1/stats?${query}`).set('Authorization', auth);

  it('when a township officer asks, then every figure covers exactly their township', async () => {
    const res = await stats(officerA.auth).expect(200);
    const b = res.body;
    assert.deepEqual(b.period, { from: '2025-09-29', to: '2025-10-31' });
    assert.equal(b.today, '2025-11-03');
    assert.deepEqual(b.counts.total, { received: 8, decided: 4, approved: 3, returned: 1, rejected: 1, withdrawn: 1 });
    assert.deepEqual(b.counts.byChannel.online, { received: 7, decided: 3, approved: 2, returned: 1, rejected: 1, withdrawn: 1 });
    assert.deepEqual(b.counts.byChannel.terminal, { received: 1, decided: 1, approved: 1, returned: 0, rejected: 0, withdrawn: 0 });
    assert.deepEqual(b.counts.byType['birth-service'], { received: 6, decided: 3, approved: 2, returned: 1, rejected: 1, withdrawn: 1 });
    assert.deepEqual(b.counts.byType['migrant-marriage'], { received: 1, decided: 1, approved: 1, returned: 0, rejected: 0, withdrawn: 0 });
    assert.deepEqual(b.counts.byType['rebirth-permit'], { received: 1, decided: 0, approved: 0, returned: 0, rejected: 0, withdrawn: 0 });
    assert.deepEqual(b.counts.byType['only-child-honour'], { received: 0, decided: 0, approved: 0, returned: 0, rejected: 0, withdrawn: 0 });
    assert.deepEqual(b.counts.byStage.township, { received: 8, decided: 4, approved: 3, returned: 1, rejected: 1, withdrawn: 1 });
    assert.deepEqual(b.counts.byStage.county, { received: 0, decided: 0, approved: 0, returned: 0, rejected: 0, withdrawn: 0 });
    // Stage decisions A1, A2, A3, A4 (township), A11: committed on time A1, A3, A4; statutory all five.
    // A4 waits at the county past both deadlines (27 and 28 Oct, in the period): late already, so the
    // rates are 3 / (5 + 1) and 5 / (5 + 1), not 3 / 5 and 5 / 5.
    // Working days to decision: A1 1, A3 3, A2 4, A11 14 → median 3.5, p90 (4th of 4) 14, ≤ 3: two of four.
    assert.deepEqual(b.timeliness, {
      stageDecisions: 5,
      onTimeCommitted: 3,
      onTimeCommittedRate: 0.5,
      onTimeStatutory: 5,
      onTimeStatutoryRate: 0.8333,
      lateOpenCommitted: 1,
      lateOpenStatutory: 1,
      finalDecisions: 4,
      within3WorkingDays: 2,
      within3WorkingDaysShare: 0.5,
      medianWorkingDays: 3.5,
      p90WorkingDays: 14,
    });
    assert.deepEqual(b.overdueNow, { committed: 1, statutory: 1 });
    // C1 answered on time, C2 still open past its deadline: one of two answered, one of two on time.
    assert.deepEqual(b.complaints, { received: 2, answered: 1, answeredOnTime: 1, answerRate: 0.5, onTimeAnswerRate: 0.5, openNow: 1, overdueNow: 1 });
  });

  it('when the admin asks, then the other township is included too', async () => {
    const b = (await stats(admin.auth).expect(200)).body;
    assert.equal(b.scope.jurisdiction, 'all');
    assert.deepEqual(b.counts.total, { received: 9, decided: 5, approved: 4, returned: 1, rejected: 1, withdrawn: 1 });
    // Adds A6: 0 working days, on time. Values 0, 1, 3, 4, 14.
    assert.deepEqual(b.timeliness, {
      stageDecisions: 6,
      onTimeCommitted: 4,
      onTimeCommittedRate: 0.5714,
      onTimeStatutory: 6,
      onTimeStatutoryRate: 0.8571,
      lateOpenCommitted: 1,
      lateOpenStatutory: 1,
      finalDecisions: 5,
      within3WorkingDays: 3,
      within3WorkingDaysShare: 0.6,
      medianWorkingDays: 3,
      p90WorkingDays: 14,
    });
    assert.deepEqual(b.complaints, { received: 3, answered: 2, answeredOnTime: 1, answerRate: 0.6667, onTimeAnswerRate: 0.3333, openNow: 1, overdueNow: 1 });
  });

  it('when the other township’s officer asks, then only that township counts; a division filter narrows but never widens', async () => {
    const b = (await stats(officerB.auth).expect(200)).body;
    assert.deepEqual(b.counts.total, { received: 1, decided: 1, approved: 1, returned: 0, rejected: 0, withdrawn: 0 });
    assert.deepEqual(b.overdueNow, { committed: 0, statutory: 0 });
    assert.equal(b.timeliness.medianWorkingDays, 0);
    assert.deepEqual(b.complaints, { received: 1, answered: 1, answeredOnTime: 0, answerRate: 1, onTimeAnswerRate: 0, openNow: 0, overdueNow: 0 });

    const narrowed = (await stats(admin.auth, 'from=2025-09-29&to=2025-10-31&division=430725102').expect(200)).body;
    assert.equal(narrowed.counts.total.received, 1);
    const notWidened = (await stats(officerA.auth, 'from=2025-09-29&to=2025-10-31&division=430725102').expect(200)).body;
    assert.deepEqual(notWidened.counts.total, { received: 0, decided: 0, approved: 0, returned: 0, rejected: 0, withdrawn: 0 });
    assert.equal(notWidened.complaints.received, 0);
    const byType = (await stats(admin.auth, 'from=2025-09-29&to=2025-10-31&type=migrant-marriage').expect(200)).body;
    assert.deepEqual(byType.counts.total, { received: 1, decided: 1, approved: 1, returned: 0, rejected: 0, withdrawn: 0 });
    assert.equal(byType.timeliness.onTimeCommittedRate, 0);
  });

  it('when the period is one day, then dates are China calendar days', async () => {
    const lastDay = (await stats(admin.auth, 'from=2025-10-31&to=2025-10-31').expect(200)).body;
    assert.equal(lastDay.counts.total.received, 1, 'A9 at 23:30 on 31 Oct; A10 at 00:30 on 1 Nov is the next day');
    const nextDay = (await stats(admin.auth, 'from=2025-11-01&to=2025-11-01').expect(200)).body;
    assert.equal(nextDay.counts.total.received, 1);
    assert.equal(nextDay.timeliness.medianWorkingDays, null, 'nothing decided: no median, not zero');
    assert.equal(nextDay.timeliness.onTimeCommittedRate, null);
  });

  it('when CSV is asked for, then the same figures come as rows', async () => {
    const json = (await stats(officerA.auth).expect(200)).body;
    const res = await stats(officerA.auth).set('Accept', 'text/csv').expect(200);
    assert.match(res.headers['content-type'], /^text\/csv/);
    assert.match(res.headers['content-disposition'], /attachment; filename="?stats-2025-09-29-2025-10-31\.csv"?/);
    const lines = res.text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'from,to,figure,dimension,key,value');
    const rows = new Map(lines.slice(1).map((l) => {
      const [, , figure, dimension, key, value] = l.split(',');
      return [`${figure}|${dimension}|${key}`, value];
    }));
    assert.equal(rows.get('received|all|'), '8');
    assert.equal(rows.get('received|channel|terminal'), '1');
    assert.equal(rows.get('approved|type|birth-service'), '2');
    assert.equal(rows.get('withdrawn|stage|township'), '1');
    assert.equal(rows.get('onTimeCommittedRate|all|'), '0.5');
    assert.equal(rows.get('within3WorkingDaysShare|all|'), '0.5');
    assert.equal(rows.get('medianWorkingDays|all|'), '3.5');
    assert.equal(rows.get('p90WorkingDays|all|'), '14');
    assert.equal(rows.get('overdueNowCommitted|all|'), '1');
    assert.equal(rows.get('complaints.answeredOnTime|all|'), '1');
    // Every JSON figure is in the CSV with the same value.
    for (const [figure, counts] of Object.entries(json.counts.total)) assert.equal(rows.get(`${figure}|all|`), String(counts));
    for (const [figure, value] of Object.entries(json.timeliness)) assert.equal(rows.get(`${figure}|all|`), value === null ? '' : String(value));
    for (const [figure, value] of Object.entries(json.complaints)) assert.equal(rows.get(`complaints.${figure}|all|`), String(value));
  });

  it('when an applicant or a terminal asks, then 403; a bad period is 400', async () => {
    const applicant = await registerAndLogin(t.app);
    await stats(applicant.auth).expect(403);
    const terminal = await terminalLogin(t);
    await stats(terminal.auth).expect(403);
    await request(t.app).get('/api/v1/stats').expect(401);
    await stats(admin.auth, 'from=2025-10-31&to=2025-10-01').expect(400);
    await stats(admin.auth, 'from=2025-02-30&to=2025-03-01').expect(400);
    // Today (3 Nov) may end a period; tomorrow may not. A leap year plus a day is the longest span.
    await stats(admin.auth, 'from=2025-11-01&to=2025-11-03').expect(200);
    const future = await stats(admin.auth, 'from=2025-11-01&to=2025-11-04').expect(400);
    assert.deepEqual(future.body.errors.map((e: { path: string }) => e.path), ['to']);
    assert.match(future.body.errors[0].messages.zh, /未来/);
    await stats(admin.auth, 'from=2024-11-03&to=2025-11-03').expect(200);
    const long = await stats(admin.auth, 'from=2024-11-02&to=2025-11-03').expect(400);
    assert.match(long.body.errors[0].messages.en, /at most 366 days/);
    await stats(admin.auth, 'division[$ne]=1').expect(400);
    const defaults = (await request(t.app).get('/api/v1/stats').set('Authorization', admin.auth).expect(200)).body;
    assert.deepEqual(defaults.period, { from: '2025-11-01', to: '2025-11-03' });
  });
});
