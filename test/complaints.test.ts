import assert from 'node:assert/strict';
import request from 'supertest';
import type { ApplicationDoc } from '../service/applications/applications.model';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import { asParty, birthServiceForm, submittedApplication } from './support/forms';

const at = (local: string): Date => new Date(`${local.replace(' ', 'T')}:00+08:00`);

describe('Complaints: filed by the applicant or kiosk, answered by the area’s officers within 5 working days', function () {
  this.timeout(60_000);
  const clock = new FixedClock(at('2025-10-09 09:00'));
  let t: TestApp;

  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  // Tokens live an hour on the test clock; a scenario spanning days signs in again.
  const officerAuth = async (username: string) =>
    `Bearer ${(await request(t.app).post('/api/v1/auth/login').send({ username, password: 'officer-password-1' }).expect(200)).body.accessToken}`;
  const applicantAuth = async (idNumber: string) =>
    `Bearer ${(await request(t.app).post('/api/v1/auth/login').send({ idNumber, password: 'correct horse' }).expect(200)).body.accessToken}`;
  const post = (path: string, auth: string, body: object) => request(t.app).post(path).set('Authorization', auth).send(body);
  const get = (path: string, auth: string) => request(t.app).get(path).set('Authorization', auth);
  const appDoc = (id: string) => t.ctx.models.Application.findById(id).lean<ApplicationDoc>();

  it('when an applicant complains and the officer answers after the deadline, then it is in the history, the applicant reads the answer and it counts as late', async () => {
    clock.set(at('2025-10-09 09:00'));
    const applicant = await registerAndLogin(t.app);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const outsider = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    const before = await appDoc(sub.id);

    const filed = await post(`/api/v1/applications/${sub.id}/complaints`, applicant.auth, { text: '受理后一直没有人联系我' }).expect(201);
    // Day 1 is the first working day after filing: 10, 11 (worked Saturday), 13, 14, 15 October.
    assert.equal(filed.body.responseDeadline, '2025-10-15');
    assert.equal(filed.body.status, 'open');
    assert.equal(filed.body.applicationNumber, sub.number);
    const complaintId = filed.body.id as string;

    const afterFiling = await appDoc(sub.id);
    assert.equal(afterFiling!.status, 'pending', 'a complaint does not change the application’s state');
    assert.deepEqual(afterFiling!.updatedAt, before!.updatedAt, 'nor its version, so a concurrent decision still goes through');
    const complainEntry = afterFiling!.history.at(-1) as ApplicationDoc['history'][number] & { complaintId: string };
    assert.equal(complainEntry.action, 'complain');
    assert.equal(complainEntry.complaintId, complaintId);
    assert.deepEqual([complainEntry.from, complainEntry.to], ['pending', 'pending']);

    // Officers of another township neither see nor answer it, and nothing changes.
    const elsewhere = await get('/api/v1/complaints?status=open', outsider.auth).expect(200);
    assert.ok(!elsewhere.body.items.some((c: { id: string }) => c.id === complaintId));
    await post(`/api/v1/complaints/${complaintId}/response`, outsider.auth, { text: '不归我管' }).expect(404);
    await get(`/api/v1/complaints/${complaintId}`, outsider.auth).expect(404);
    assert.equal((await t.ctx.models.Complaint.findById(complaintId).lean())!.status, 'open');

    const open = await get('/api/v1/complaints?status=open', officer.auth).expect(200);
    const listed = open.body.items.find((c: { id: string }) => c.id === complaintId);
    assert.ok(listed, 'in the officer’s list');
    assert.equal(listed.overdue, false);

    clock.set(at('2025-10-16 10:00'));
    const officerNow = await officerAuth(officer.username);
    const overdue = await get('/api/v1/complaints?status=open', officerNow).expect(200);
    assert.equal(overdue.body.items.find((c: { id: string }) => c.id === complaintId).overdue, true);
    const answered = await post(`/api/v1/complaints/${complaintId}/response`, officerNow, { text: '已安排专人联系，今日办结' }).expect(200);
    assert.equal(answered.body.status, 'answered');
    assert.equal(answered.body.answeredOnTime, false);
    await post(`/api/v1/complaints/${complaintId}/response`, officerNow, { text: '再答一次' }).expect(409);

    const applicantNow = await applicantAuth(applicant.idNumber);
    const seen = await get(`/api/v1/complaints/${complaintId}`, applicantNow).expect(200);
    assert.equal(seen.body.answer.text, '已安排专人联系，今日办结');
    assert.deepEqual(seen.body.answer.by, { role: 'officer' }, 'the resident sees the answer, not the officer’s identity');
    const mine = await get(`/api/v1/applications/${sub.id}/complaints`, applicantNow).expect(200);
    assert.deepEqual(mine.body.items.map((c: { id: string }) => c.id), [complaintId]);

    const afterAnswer = await appDoc(sub.id);
    assert.deepEqual(afterAnswer!.history.slice(-2).map((h) => h.action), ['complain', 'complaint-answered']);
    const outbox = await t.ctx.models.Notification.findById(`complaint:${complaintId}:answered`).lean();
    assert.ok(outbox, 'the applicant is notified');
    assert.match(outbox!.text, new RegExp(sub.number));
    assert.match(outbox!.text, /已安排专人联系/);
    assert.equal(outbox!.recipient.applicantId, applicant.id);

    // A second complaint answered within its deadline: the statistics count one of two on time.
    const second = await post(`/api/v1/applications/${sub.id}/complaints`, applicantNow, { text: '答复太慢' }).expect(201);
    assert.equal(second.body.responseDeadline, '2025-10-23');
    clock.set(at('2025-10-23 17:00'));
    await post(`/api/v1/complaints/${second.body.id}/response`, await officerAuth(officer.username), { text: '已改进' }).expect(200);
    const admin = await staffLogin(t, { role: 'admin' });
    const stats = await get('/api/v1/stats?from=2025-10-01&to=2025-10-23', admin.auth).expect(200);
    assert.deepEqual(stats.body.complaints, { received: 2, answered: 2, answeredOnTime: 1, answerRate: 1, onTimeAnswerRate: 0.5, openNow: 0, overdueNow: 0 });
  });

  it('when a kiosk complains for its resident, then it may; for anyone else’s application or a draft it may not', async () => {
    clock.set(at('2025-10-20 09:00'));
    const terminal = await terminalLogin(t);
    const filing = { resident: { idNumber: uniqueIdNumber('female'), name: '李秀英' }, operatorName: '陈干事', consent: { given: true, method: 'signature' } };
    const sub = await submittedApplication(t.app, terminal.auth, 'birth-service', birthServiceForm(), filing);
    const filed = await post(`/api/v1/applications/${sub.id}/complaints`, terminal.auth, { text: '代居民反映：材料清单不清楚' }).expect(201);
    assert.deepEqual(filed.body.filedBy, { role: 'terminal' });
    const stored = await t.ctx.models.Complaint.findById(filed.body.id).lean();
    assert.equal(stored!.recipient.terminalId, terminal.terminalId);
    assert.equal(stored!.channel, 'terminal');

    const stranger = await registerAndLogin(t.app);
    const historyBefore = (await appDoc(sub.id))!.history.length;
    const complaintsBefore = await t.ctx.models.Complaint.countDocuments();
    await post(`/api/v1/applications/${sub.id}/complaints`, stranger.auth, { text: '冒名投诉' }).expect(404);
    await get(`/api/v1/complaints/${filed.body.id}`, stranger.auth).expect(404);
    await get(`/api/v1/applications/${sub.id}/complaints`, stranger.auth).expect(404);
    const otherKiosk = await terminalLogin(t);
    await post(`/api/v1/applications/${sub.id}/complaints`, otherKiosk.auth, { text: '别的终端' }).expect(404);

    const draft = await post('/api/v1/applications', stranger.auth, { type: 'birth-service', form: asParty('birth-service', birthServiceForm(), stranger.idNumber) }).expect(201);
    await post(`/api/v1/applications/${draft.body.id}/complaints`, stranger.auth, { text: '草稿' }).expect(409);

    await post(`/api/v1/applications/${sub.id}/complaints`, terminal.auth, { text: { $ne: null } }).expect(400);
    await post(`/api/v1/applications/${sub.id}/complaints`, terminal.auth, { text: '多余字段', status: 'answered' }).expect(400);
    await post(`/api/v1/applications/${sub.id}/complaints`, terminal.auth, { text: '   ' }).expect(400);
    assert.equal((await appDoc(sub.id))!.history.length, historyBefore, 'refusals add no history');
    assert.equal(await t.ctx.models.Complaint.countDocuments(), complaintsBefore, 'and no complaint');

    // Applicants and kiosks cannot list or answer complaints.
    await get('/api/v1/complaints', terminal.auth).expect(403);
    await post(`/api/v1/complaints/${filed.body.id}/response`, stranger.auth, { text: '自问自答' }).expect(403);
  });
});
