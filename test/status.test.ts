import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import { birthServiceForm, readyBirthService, terminalFiling } from './support/forms';

describe('Public case query: GET /api/v1/status', function () {
  this.timeout(30_000);
  const clock = new FixedClock('2026-02-10T02:00:00Z');
  let t: TestApp;
  before(async () => {
    // Its own database and app: the status limit counts per app, and FerretDB scans collections.
    t = await makeTestApp({ clock, dbName: 'fpc_status' });
    await t.conn.dropDatabase();
  });
  after(async () => {
    await t.conn.dropDatabase();
    await t.close();
  });

  const status = (number: string, idNumber: string) => request(t.app).get('/api/v1/status').query({ number, idNumber });

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
    await request(t.app).get('/api/v1/status').query({ number: '430725-2026-000001' }).expect(400);
    await request(t.app).get('/api/v1/status').query({ number: 'x', idNumber: '430725199001011234' }).expect(400);
    await request(t.app).get('/api/v1/status?number[$ne]=x&idNumber[$ne]=y').expect(400);
  });

  it('when one address asks about one number more than 20 times in the window, then 429, also with a forged X-Forwarded-For; another number still answers', async () => {
    const limited = await makeTestApp({ clock, dbName: 'fpc_status' });
    try {
      const ask = (number: string) => request(limited.app).get('/api/v1/status').query({ number, idNumber: uniqueIdNumber() });
      for (let i = 0; i < 20; i += 1) await ask('430725-2026-000001').expect(404);
      const res = await ask('430725-2026-000001').expect(429);
      assert.equal(res.body.code, 'rate_limited');
      await ask('430725-2026-000001').set('X-Forwarded-For', '203.0.113.7').expect(429);
      await ask('430725-2026-000002').expect(404);
    } finally {
      await limited.close();
    }
  });
});
