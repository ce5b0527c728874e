import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import { birthServiceForm, readyBirthService, terminalFiling } from './support/forms';

describe('Public case query: POST /api/v1/status', function () {
  this.timeout(30_000);
  const clock = new FixedClock('2026-02-10T02:00:00Z');
  let t: TestApp;
  before(async () => {
    // An app of its own: the status limit counts per app.
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  const status = (number: string, idNumber: string) => request(t.app).post('/api/v1/status').send({ number, idNumber });

  async function submitted(auth: string, extra: Record<string, unknown> = {}) {
    const ready = await readyBirthService(t.app, auth, birthServiceForm(), extra);
    const res = await request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', auth).send({}).expect(200);
    return res.body as { id: string; number: string };
  }

  it('when the number and the ID number belong together, then the status, stage and dates with a masked name and no ID number', async () => {
    const applicant = await registerAndLogin(t.app, { name: '李明' });
    const app = await submitted(applicant.auth);
    const res = await status(app.number, applicant.idNumber).expect(200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.body.number, app.number);
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.type, 'birth-service');
    assert.equal(res.body.resident, '李*');
    assert.equal(res.body.stage.id, 'township-registration');
    assert.equal(res.body.stage.level, 'township');
    assert.equal(res.body.stage.committedDeadline, '2026-03-02');
    assert.equal(res.body.submittedAt, '2026-02-10T02:00:00.000Z');
    assert.ok(!res.text.includes(applicant.idNumber), 'no ID number in the body');
    assert.ok(!res.text.includes(applicant.idNumber.slice(-4)), 'not even a part of it');
    assert.ok(!res.text.includes('李明'), 'the name only masked');
    assert.ok(!/idNumber|idMasked|idHash/.test(res.text));

    const lower = await status(app.number, applicant.idNumber.toLowerCase()).expect(200);
    assert.equal(lower.body.number, app.number);
  });

  it('when a terminal filed for a resident, then the resident finds it with their own ID number', async () => {
    const kiosk = await terminalLogin(t);
    const residentId = uniqueIdNumber('female');
    const app = await submitted(kiosk.auth, terminalFiling(residentId, '王秀兰'));
    const res = await status(app.number, residentId).expect(200);
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.resident, '王**');
    assert.ok(!res.text.includes(residentId));
  });

  it('when the ID number is wrong, then the answer is the same 404 as for an unknown number', async () => {
    const applicant = await registerAndLogin(t.app);
    const app = await submitted(applicant.auth);
    const unknownNumber = app.number.replace(/\d{6}$/, '999999');
    const answers = [
      await status(app.number, uniqueIdNumber()).expect(404),
      await status(unknownNumber, applicant.idNumber).expect(404),
      await status(app.number, '430725199001011230').expect(404),
    ];
    const comparable = (res: request.Response) => {
      const { requestId, instance, ...rest } = JSON.parse(res.text) as Record<string, unknown>;
      assert.equal(typeof requestId, 'string');
      assert.equal(instance, '/api/v1/status');
      return JSON.stringify(rest);
    };
    for (const res of answers.slice(1)) {
      assert.equal(comparable(res), comparable(answers[0]!));
      assert.equal(res.headers['content-type'], answers[0]!.headers['content-type']);
    }
    assert.equal(answers[0]!.body.code, 'not_found');
    for (const res of answers) assert.ok(!res.text.includes(applicant.idNumber));
  });

  it('when the query is malformed or carries operator objects, then 400', async () => {
    await request(t.app).post('/api/v1/status').send({ number: '430725-2026-000001' }).expect(400);
    await request(t.app).post('/api/v1/status').send({ number: 'x', idNumber: '430725199001011234' }).expect(400);
    await request(t.app).post('/api/v1/status').send({ number: { $ne: 'x' }, idNumber: { $ne: 'y' } }).expect(400);
    // The ID number never travels in a URL: the old GET form is not served.
    const get = await request(t.app).get('/api/v1/status').query({ number: '430725-2026-000001', idNumber: '430725199001011234' }).expect(405);
    assert.equal(get.headers.allow, 'POST');
  });

  it('when one address asks about one number more than 20 times in the window, then 429, also with a forged X-Forwarded-For; another number still answers', async () => {
    const limited = await makeTestApp({ clock });
    try {
      const ask = (number: string) => request(limited.app).post('/api/v1/status').send({ number, idNumber: uniqueIdNumber() });
      for (let i = 0; i < 20; i += 1) await ask('430725-2026-000001').expect(404);
      const res = await ask('430725-2026-000001').expect(429);
      assert.equal(res.body.code, 'rate_limited');
      await ask('430725-2026-000001').set('X-Forwarded-For', '203.0.113.7').expect(429);
      await ask('430725-2026-000002').expect(404);
    } finally {
      await limited.close();
    }
  });

  it('when the number comes with the access code from the receipt, then the same masked answer; a wrong code is the same 404', async () => {
    const kiosk = await terminalLogin(t);
    const app = await submitted(kiosk.auth, terminalFiling(uniqueIdNumber('female'), '周小梅'));
    const view = await request(t.app).get(`/api/v1/applications/${app.id}`).set('Authorization', kiosk.auth).expect(200);
    assert.match(view.body.accessCode, /^[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$/);
    const res = await request(t.app).post('/api/v1/status').send({ number: app.number, accessCode: view.body.accessCode.toLowerCase().replace('-', ' ') }).expect(200);
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.resident, '周**');
    const wrong = await request(t.app).post('/api/v1/status').send({ number: app.number, accessCode: 'AAAA-AAAA' }).expect(404);
    assert.equal(wrong.body.code, 'not_found');
    const stored = await t.ctx.models.Application.findById(app.id).lean();
    assert.ok(!JSON.stringify(stored).includes(view.body.accessCode), 'the code is stored sealed and hashed only');
  });

  it('when a returned case is queried publicly, then it says returned but not what is missing', async () => {
    const applicant = await registerAndLogin(t.app);
    const app = await submitted(applicant.auth);
    await t.ctx.models.Application.updateOne({ _id: app.id }, { $set: { status: 'returned', missing: ['marriage-certificate'] } });
    const res = await status(app.number, applicant.idNumber).expect(200);
    assert.equal(res.body.status, 'returned');
    assert.equal(res.body.missing, undefined);
    assert.ok(!res.text.includes('marriage-certificate'));
  });

  it('when one address tries one ID number against more than 20 numbers, then 429', async () => {
    const limited = await makeTestApp({ clock });
    try {
      const idNumber = uniqueIdNumber();
      const ask = (i: number) => request(limited.app).post('/api/v1/status').send({ number: `430725-2026-${String(100000 + i)}`, idNumber });
      for (let i = 0; i < 20; i += 1) await ask(i).expect(404);
      await ask(20).expect(429);
      await request(limited.app).post('/api/v1/status').send({ number: '430725-2026-200000', idNumber: uniqueIdNumber() }).expect(404);
    } finally {
      await limited.close();
    }
  });
});
