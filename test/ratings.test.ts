import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { makeIdNumber, makeTestApp, registerAndLogin, staffLogin, terminalLogin, type TestApp } from './support/app';
import { asParty, birthServiceForm, submittedApplication } from './support/forms';

const at = (local: string) => new Date(`${local.replace(' ', 'T')}:00+08:00`);

describe('ratings (好差评) and their follow-ups', () => {
  let t: TestApp;
  const clock = new FixedClock(at('2026-03-02 09:00'));
  let officer: Awaited<ReturnType<typeof staffLogin>>;
  before(async () => {
    t = await makeTestApp({ clock });
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
  });
  after(() => t.close());

  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);

  /** An approved birth-service case of a fresh applicant. */
  async function finished() {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    await post(`/api/v1/applications/${sub.id}/claim`, officer.auth).expect(200);
    await post(`/api/v1/applications/${sub.id}/decision`, officer.auth, { action: 'approve' }).expect(200);
    return { applicant, id: sub.id };
  }

  it('when the applicant rates a finished case 5 with a comment, then it is stored once with its level; a second rating is 409', async () => {
    const { applicant, id } = await finished();
    const res = await post(`/api/v1/applications/${id}/rating`, applicant.auth, { score: 5, comment: '办事快' }).expect(201);
    assert.equal(res.body.score, 5);
    assert.deepEqual(res.body.level, { zh: '非常满意', en: 'very satisfied' });
    assert.equal(res.body.followUp, null);
    assert.equal(res.body.channel, 'online');
    const again = await post(`/api/v1/applications/${id}/rating`, applicant.auth, { score: 1 }).expect(409);
    assert.match(again.body.message.zh, /只能评价一次/);
    assert.equal(await t.ctx.models.Rating.countDocuments({ applicationId: id }), 1);
    const seen = await request(t.app).get(`/api/v1/applications/${id}/rating`).set('Authorization', applicant.auth).expect(200);
    assert.equal(seen.body.comment, '办事快');
  });

  it('when a case is still open, or the score is not 1–5, or someone else rates, then it is refused and nothing is stored', async () => {
    const applicant = await registerAndLogin(t.app);
    const open = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    const early = await post(`/api/v1/applications/${open.id}/rating`, applicant.auth, { score: 4 }).expect(409);
    assert.match(early.body.message.zh, /办结后才能评价/);
    const { id } = await finished();
    for (const score of [0, 6, 3.5, '5']) await post(`/api/v1/applications/${id}/rating`, applicant.auth, { score }).expect(400);
    await post(`/api/v1/applications/${id}/rating`, applicant.auth, { score: 5 }).expect(404);
    await post(`/api/v1/applications/${id}/rating`, officer.auth, { score: 5 }).expect(403);
    assert.equal(await t.ctx.models.Rating.countDocuments({ applicationId: id }), 0);
    assert.equal(await t.ctx.models.Rating.countDocuments({ applicationId: open.id }), 0);
  });

  it('when a resident rates 2, then a follow-up opens for the township with a 15-working-day deadline; its officer records the outcome once', async () => {
    const { applicant, id } = await finished();
    const rated = await post(`/api/v1/applications/${id}/rating`, applicant.auth, { score: 2, comment: '窗口态度不好' }).expect(201);
    // Mon 2 Mar 2026 + 15 working days = Mon 23 Mar.
    assert.deepEqual(rated.body.followUp, { status: 'open', deadline: '2026-03-23', overdue: false, outcome: null, at: null, by: null, onTime: null });
    const list = await request(t.app).get('/api/v1/ratings/follow-ups').set('Authorization', officer.auth).expect(200);
    assert.ok(list.body.items.some((r: { id: string }) => r.id === rated.body.id));
    const elsewhere = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    const theirs = await request(t.app).get('/api/v1/ratings/follow-ups').set('Authorization', elsewhere.auth).expect(200);
    assert.ok(!theirs.body.items.some((r: { id: string }) => r.id === rated.body.id));
    await post(`/api/v1/ratings/${rated.body.id}/follow-up`, elsewhere.auth, { outcome: '已回访' }).expect(404);
    await post(`/api/v1/ratings/${rated.body.id}/follow-up`, applicant.auth, { outcome: '已回访' }).expect(403);
    clock.set(at('2026-03-05 10:00'));
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const done = await post(`/api/v1/ratings/${rated.body.id}/follow-up`, officer.auth, { outcome: '已电话回访，窗口人员已批评教育' }).expect(200);
    assert.equal(done.body.followUp.status, 'done');
    assert.equal(done.body.followUp.onTime, true);
    assert.equal(done.body.followUp.by.id, officer.id);
    await post(`/api/v1/ratings/${rated.body.id}/follow-up`, officer.auth, { outcome: '再次' }).expect(409);
    clock.set(at('2026-03-02 09:00'));
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
  });

  it('when a kiosk rates for its resident, then the rating is in the terminal channel; a good rating has no follow-up to record', async () => {
    const kiosk = await terminalLogin(t);
    const resident = { idNumber: makeIdNumber('male', '1990-05-01'), name: '赵四' };
    const form = asParty('birth-service', birthServiceForm(), resident.idNumber);
    const created = await post('/api/v1/applications', kiosk.auth, { type: 'birth-service', form, resident, operatorName: '陈干事', consent: { given: true, method: 'paper-form' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const check = await post('/api/v1/certificate-types/birth-service/eligibility-check', kiosk.auth, { form }).expect(200);
    for (const doc of check.body.requiredDocuments as { kind: string }[]) {
      await request(t.app).post(`/api/v1/applications/${created.body.id}/documents`).set('Authorization', kiosk.auth).field('kind', doc.kind)
        .attach('file', Buffer.from('%PDF-1.4\n%%EOF\n'), { filename: 'a.pdf', contentType: 'application/pdf' }).expect(201);
    }
    await post(`/api/v1/applications/${created.body.id}/submit`, kiosk.auth).expect(200);
    await post(`/api/v1/applications/${created.body.id}/withdraw`, kiosk.auth, { reason: '不再需要' }).expect(200);
    const rated = await post(`/api/v1/applications/${created.body.id}/rating`, kiosk.auth, { score: 4 }).expect(201);
    assert.equal(rated.body.channel, 'terminal');
    await post(`/api/v1/ratings/${rated.body.id}/follow-up`, officer.auth, { outcome: 'x' }).expect(409);
  });

  it('when the statistics are read, then they show the satisfaction rate and the follow-up rate of the period', async () => {
    clock.set(at('2026-04-07 09:00'));
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const ratings: { id: string }[] = [];
    for (const score of [1, 1, 3]) {
      const { applicant, id } = await finished();
      ratings.push((await post(`/api/v1/applications/${id}/rating`, applicant.auth, { score }).expect(201)).body);
    }
    await post(`/api/v1/ratings/${ratings[0]!.id}/follow-up`, officer.auth, { outcome: '已整改' }).expect(200);
    const admin = await staffLogin(t, { role: 'admin' });
    const res = await request(t.app).get('/api/v1/stats?from=2026-04-07&to=2026-04-07').set('Authorization', admin.auth).expect(200);
    // 1 (followed up on time), 1 (not yet), 3: one of three satisfied, one of two bad ones followed up.
    assert.deepEqual(res.body.ratings, {
      received: 3,
      byScore: { 1: 2, 2: 0, 3: 1, 4: 0, 5: 0 },
      satisfied: 1,
      satisfactionRate: 0.3333,
      bad: 2,
      followedUp: 1,
      followedUpOnTime: 1,
      followUpRate: 0.5,
    });
  });
});
