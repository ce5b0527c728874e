import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication, uploadDocument } from './support/forms';

/** Beijing wall time. */
const at = (local: string) => new Date(`${local.replace(' ', 'T')}:00+08:00`);

describe('return for supplement as the Administrative Licensing Law allows it (art. 32)', () => {
  let t: TestApp;
  const clock = new FixedClock(at('2025-11-03 09:00'));
  let officer: Awaited<ReturnType<typeof staffLogin>>;
  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);
  const giveBack = (id: string, missing: unknown = ['marriage-certificate']) =>
    post(`/api/v1/applications/${id}/decision`, officer.auth, { action: 'return', reason: '结婚证复印件不清晰', missing });
  const stored = (id: string) => t.ctx.models.Application.findById(id).lean();

  /** Submitted on Monday 3 November 2025 at 09:00 Beijing time. */
  async function received() {
    clock.set(at('2025-11-03 09:00'));
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    return { applicant, id: sub.id };
  }

  /** Days later: fresh sessions for the officer and the applicant (tokens are short-lived). */
  async function later(local: string, applicant?: { idNumber: string }) {
    clock.set(at(local));
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    if (!applicant) return '';
    const login = await request(t.app).post('/api/v1/auth/login').send({ idNumber: applicant.idNumber, password: 'correct horse' }).expect(200);
    return `Bearer ${login.body.accessToken}`;
  }

  it('when the fifth working day after receipt is reached (Mon 10 Nov), then the case may be returned', async () => {
    const { id } = await received();
    await later('2025-11-10 17:00');
    await post(`/api/v1/applications/${id}/claim`, officer.auth).expect(200);
    const res = await giveBack(id).expect(200);
    assert.equal(res.body.status, 'returned');
    assert.deepEqual(res.body.missing, ['marriage-certificate']);
  });

  it('when the sixth working day has come (Tue 11 Nov), then 409 says the five days are over and nothing changes', async () => {
    const { id } = await received();
    await later('2025-11-11 09:00');
    await post(`/api/v1/applications/${id}/claim`, officer.auth).expect(200);
    const before = await stored(id);
    const res = await giveBack(id).expect(409).expect('Content-Type', /problem\+json/);
    assert.equal(res.body.rule, 'return_within_five_working_days');
    assert.match(res.body.message.zh, /已 6 个工作日.*第三十二条/);
    assert.match(res.body.message.en, /within five/);
    const after = await stored(id);
    assert.equal(after?.status, 'in_review');
    assert.equal(after?.history.length, before?.history.length);
  });

  it('when a returned case comes back and is returned again, then 409 says a case is returned once, and nothing changes', async () => {
    const { applicant, id } = await received();
    const auth = await later('2025-11-04 10:00', applicant);
    await post(`/api/v1/applications/${id}/claim`, officer.auth).expect(200);
    await giveBack(id).expect(200);
    await uploadDocument(t.app, auth, id, 'marriage-certificate');
    await post(`/api/v1/applications/${id}/submit`, auth).expect(200);
    await post(`/api/v1/applications/${id}/claim`, officer.auth).expect(200);
    const before = await stored(id);
    const res = await giveBack(id, ['photo']).expect(409);
    assert.equal(res.body.rule, 'return_once');
    assert.match(res.body.message.zh, /已退回补正过一次/);
    assert.equal((await stored(id))?.history.length, before?.history.length);
  });

  it('when missing names free text or a kind the catalogue does not have, then 400 names the item and nothing changes', async () => {
    const { id } = await received();
    await later('2025-11-03 10:00');
    await post(`/api/v1/applications/${id}/claim`, officer.auth).expect(200);
    const text = await giveBack(id, ['结婚证（清晰复印件）']).expect(400);
    assert.equal(text.body.errors[0].path, 'missing.0');
    const unknown = await giveBack(id, ['marriage-certificate', 'disabled-child-appraisal']).expect(400);
    assert.deepEqual(unknown.body.errors.map((e: { path: string }) => e.path), ['missing.1']);
    assert.match(unknown.body.errors[0].messages.zh, /不是本证件材料清单中的材料/);
    await giveBack(id, ['photo', 'photo']).expect(400);
    assert.equal((await stored(id))?.status, 'in_review');
  });

  it('when the applicant resubmits without replacing each named kind, then 422 names what is still owed; once replaced, it goes back', async () => {
    const { applicant, id } = await received();
    const auth = await later('2025-11-03 10:00', applicant);
    await post(`/api/v1/applications/${id}/claim`, officer.auth).expect(200);
    await giveBack(id, ['marriage-certificate', 'photo']).expect(200);
    clock.advance(60_000);
    await uploadDocument(t.app, auth, id, 'photo');
    const refused = await post(`/api/v1/applications/${id}/submit`, auth).expect(422);
    assert.equal(refused.body.code, 'missing_documents');
    assert.deepEqual(refused.body.missingDocuments.map((d: { kind: string }) => d.kind), ['marriage-certificate']);
    assert.match(refused.body.message.zh, /尚未重新上传：结婚证/);
    assert.equal((await stored(id))?.status, 'returned');
    await uploadDocument(t.app, auth, id, 'marriage-certificate');
    const back = await post(`/api/v1/applications/${id}/submit`, auth).expect(200);
    assert.equal(back.body.status, 'pending');
  });
});
