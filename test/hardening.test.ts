import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../service/app';
import { buildContext } from '../service/runtime';
import { filesUnder } from './support/forms';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { redactUrl } from '../service/lib/logger';
import { mongodUnavailableReason } from '../service/lib/devdatabase';
import { makeTestApp, register, registerAndLogin, staffLogin, terminalLogin, testConfig, testKeys, type TestApp } from './support/app';
import { asParty, BIRTH_SERVICE_KINDS, birthServiceForm, personId, terminalFiling, upload } from './support/forms';

describe('Hardening: personal data stays sealed, bounded answers, what residents and kiosks see', function () {
  this.timeout(60_000);
  const clock = new FixedClock('2026-03-10T02:00:00Z');
  let t: TestApp;
  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  /** Every stored document of every collection, as the database holds it. */
  async function rawDump(): Promise<string> {
    const db = t.conn.db!;
    const parts: string[] = [];
    for (const { name } of await db.listCollections().toArray()) {
      for (const doc of await db.collection(name).find().toArray()) parts.push(`${name}: ${JSON.stringify(doc)}`);
    }
    return parts.join('\n');
  }

  it('when a resident registers, drafts with a key, uploads, submits with a key and a kiosk files too, then no collection holds an ID number, a name or a phone number in clear', async () => {
    const own = personId('male', '1989-04-04');
    const wife = personId('female', '1991-02-02');
    const names = { applicant: '欧阳明远', wife: '司马婉清', kioskResident: '上官秋水' };
    const phone = '13912345678';
    assert.equal((await register(t.app, { idNumber: own, name: names.applicant, phone, password: 'correct horse' })).status, 202);
    const login = await request(t.app).post('/api/v1/auth/login').send({ idNumber: own, password: 'correct horse' }).expect(200);
    const auth = `Bearer ${login.body.accessToken}`;
    const form = { ...birthServiceForm(), husband: { name: names.applicant, idNumber: own, residentType: 'rural' }, wife: { name: names.wife, idNumber: wife, residentType: 'rural' } };
    const created = await request(t.app).post('/api/v1/applications').set('Authorization', auth).set('Idempotency-Key', 'scan-create').send({ type: 'birth-service', form }).expect(201);
    assert.equal(created.body.resident.name, names.applicant, 'the resident still sees their own name');
    for (const kind of BIRTH_SERVICE_KINDS) await upload(t.app, auth, created.body.id, kind).expect(201);
    const submitted = await request(t.app).post(`/api/v1/applications/${created.body.id}/submit`).set('Authorization', auth).set('Idempotency-Key', 'scan-submit').send({}).expect(200);
    // A replay re-renders the view from the application: same answer, nothing kept in the key's record.
    const replay = await request(t.app).post(`/api/v1/applications/${created.body.id}/submit`).set('Authorization', auth).set('Idempotency-Key', 'scan-submit').send({}).expect(200);
    assert.equal(replay.body.number, submitted.body.number);
    assert.equal(replay.body.form.wife.idNumber, wife);

    const kiosk = await terminalLogin(t);
    const kioskId = personId('female', '1993-03-03');
    await request(t.app)
      .post('/api/v1/applications')
      .set('Authorization', kiosk.auth)
      .set('Idempotency-Key', 'scan-kiosk')
      .send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), kioskId), ...terminalFiling(kioskId, names.kioskResident) })
      .expect(201);

    const dump = await rawDump();
    for (const id of [own, wife, kioskId]) assert.ok(!dump.includes(id) && !dump.includes(id.slice(6, 14) + id.slice(14)), `ID number ${id.slice(0, 6)}… is stored in clear`);
    for (const name of Object.values(names)) assert.ok(!dump.includes(name), `the name ${name[0]}… is stored in clear`);
    assert.ok(!dump.includes(phone), 'the phone number is stored in clear');
    assert.match(dump, /idempotency_keys: .*"resourceId"/, 'the idempotency records are there, holding only ids');
  });

  it('when query parameter names are percent-encoded or oddly cased, then the logged URL still hides their values', () => {
    assert.equal(redactUrl('/api/v1/status?%69dNumber=430725198001010019&number=1'), '/api/v1/status?idNumber=%5Bredacted%5D&number=1');
    assert.doesNotMatch(redactUrl('/x?IDNUMBER=430725198001010019'), /430725198001010019/);
    assert.doesNotMatch(redactUrl('/x?phone=13800138000&a=1&phone=13900000000'), /138|139/);
    assert.equal(redactUrl('/api/v1/queue?limit=20'), '/api/v1/queue?limit=20');
  });

  it('when an officer holds the case, then the resident sees that it is in review, not who holds it', async () => {
    const kiosk = await terminalLogin(t);
    const resident = personId('female', '1992-06-06');
    const created = await request(t.app).post('/api/v1/applications').set('Authorization', kiosk.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), resident), ...terminalFiling(resident) }).expect(201);
    for (const kind of BIRTH_SERVICE_KINDS) await upload(t.app, kiosk.auth, created.body.id, kind).expect(201);
    await request(t.app).post(`/api/v1/applications/${created.body.id}/submit`).set('Authorization', kiosk.auth).send({}).expect(200);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const claimed = await request(t.app).post(`/api/v1/applications/${created.body.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    assert.equal(claimed.body.claim.officerId, officer.id, 'the officer sees the claim in full');

    const seen = await request(t.app).get(`/api/v1/applications/${created.body.id}`).set('Authorization', kiosk.auth).expect(200);
    assert.equal(seen.body.status, 'in_review');
    assert.deepEqual(Object.keys(seen.body.claim).sort(), ['role', 'until']);
    assert.ok(!JSON.stringify(seen.body).includes(officer.id));
    const history = await request(t.app).get(`/api/v1/applications/${created.body.id}/history`).set('Authorization', kiosk.auth).expect(200);
    assert.ok(!JSON.stringify(history.body).includes(officer.id));
  });

  it('when a kiosk lists what it filed, then ID numbers are masked, no form is shown, and only the last hour is there', async () => {
    const kiosk = await terminalLogin(t);
    const earlier = personId('male', '1980-08-08');
    await request(t.app).post('/api/v1/applications').set('Authorization', kiosk.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), earlier), ...terminalFiling(earlier) }).expect(201);
    clock.advance(61 * 60_000);
    // A new day's token for the same kiosk (terminal tokens live 15 minutes).
    const again = await request(t.app).post('/api/v1/auth/terminal-token').send({ terminalId: kiosk.terminalId, secret: kiosk.secret }).expect(200);
    const auth = `Bearer ${again.body.accessToken}`;
    const resident = personId('male', '1981-09-09');
    await request(t.app).post('/api/v1/applications').set('Authorization', auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), resident), ...terminalFiling(resident) }).expect(201);
    const list = await request(t.app).get('/api/v1/applications').set('Authorization', auth).expect(200);
    assert.equal(list.body.items.length, 1, 'the filing of an hour ago is out of the window');
    const [item] = list.body.items;
    assert.equal(item.resident.idNumber, `${resident.slice(0, 6)}********${resident.slice(-4)}`);
    assert.equal(item.form, undefined);
    assert.ok(!JSON.stringify(list.body).includes(resident));
  });

  it('when a form carries thousands of unknown keys, then the answer lists 20 problems and counts the rest, quickly', async () => {
    const husband: Record<string, string> = { name: '张伟', idNumber: personId('male', '1990-05-01'), residentType: 'rural' };
    for (let i = 0; i < 3000; i += 1) husband[`x${i}`] = 'y';
    const form = { ...birthServiceForm(), husband };
    const started = process.hrtime.bigint();
    const res = await request(t.app).post('/api/v1/certificate-types/birth-service/eligibility-check').send({ form }).expect(400);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(res.body.errors.length <= 21, `${res.body.errors.length} errors listed`);
    const more = res.body.errors.at(-1);
    assert.equal(more.code, 'more');
    assert.ok(JSON.stringify(res.body).length < 20_000, `${JSON.stringify(res.body).length} bytes`);
    assert.ok(ms < 5_000, `took ${ms} ms`);

    const wide: Record<string, number> = {};
    for (let i = 0; i < 40; i += 1) wide[`k${i}`] = i;
    const tooWide = await request(t.app).post('/api/v1/certificate-types/birth-service/eligibility-check').send({ form: wide }).expect(400);
    assert.equal(tooWide.body.errors[0].path, 'form');
    assert.equal(tooWide.body.errors[0].code, 'maxProperties');
  });

  it('when a deeply nested body comes with an Idempotency-Key, then 400 and nothing stored', async () => {
    const kiosk = await terminalLogin(t);
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    const before = await t.ctx.models.IdempotencyKey.countDocuments();
    const res = await request(t.app)
      .post('/api/v1/applications')
      .set('Authorization', kiosk.auth)
      .set('Idempotency-Key', 'deep-1')
      .set('Content-Type', 'application/json')
      .send(`{"type":"birth-service","form":{"residence":${deep}}}`);
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
    assert.equal(await t.ctx.models.IdempotencyKey.countDocuments(), before);
  });

  it('when a name is only invisible or direction-override characters, then 400 and no account', async () => {
    for (const name of ['\u202E\u202D', '\u200B\u200B', '张\u202E伟', '   ', '123']) {
      const idNumber = personId('male', '1988-08-08');
      const res = await request(t.app).post('/api/v1/auth/register').send({ idNumber, name, phone: '13800138000', password: 'correct horse', code: '123456' });
      assert.equal(res.status, 400, `${JSON.stringify(name)} → ${res.status}`);
      assert.equal(res.body.errors[0].path, 'name');
    }
    const form = { ...birthServiceForm(), wife: { name: '\u2066\u2069', idNumber: personId('female', '1992-01-01'), residentType: 'rural' } };
    const check = await request(t.app).post('/api/v1/certificate-types/birth-service/eligibility-check').send({ form }).expect(400);
    assert.equal(check.body.errors[0].path, 'form.wife.name');
  });

  it('when a file name is Chinese, then it comes back intact; when it hides its direction or has no letters, then 400 and no file kept', async () => {
    const applicant = await registerAndLogin(t.app);
    const created = await request(t.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) }).expect(201);
    const ok = await upload(t.app, applicant.auth, created.body.id, 'marriage-certificate', undefined, '结婚证 扫描件.pdf').expect(201);
    assert.equal(ok.body.fileName, '结婚证 扫描件.pdf');
    const listed = await request(t.app).get(`/api/v1/applications/${created.body.id}`).set('Authorization', applicant.auth).expect(200);
    assert.equal(listed.body.documents[0].fileName, '结婚证 扫描件.pdf');
    const before = filesUnder(t.ctx.config.uploadsDir);
    for (const name of ['\u202Efdp.exe', '\u200B.pdf']) {
      const res = await upload(t.app, applicant.auth, created.body.id, 'photo', undefined, name);
      assert.equal(res.status, 400, `${JSON.stringify(name)} → ${res.status}`);
    }
    assert.deepEqual(filesUnder(t.ctx.config.uploadsDir), before);
  });

  it('when a client drops an upload half-way, then the log has one quiet line and no error with a stack', async () => {
    const lines: Array<{ level: number; msg: string; err?: unknown }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const ctx = await buildContext(testConfig(), logger, t.conn, { clock, keys: testKeys().keys });
    const server = createApp(ctx).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const { port } = server.address() as AddressInfo;
      const applicant = await registerAndLogin(t.app);
      const created = await request(t.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) }).expect(201);
      await new Promise<void>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: `/api/v1/applications/${created.body.id}/documents`,
          headers: { Authorization: applicant.auth, 'Content-Type': 'multipart/form-data; boundary=XYZ', 'Content-Length': '100000' },
        });
        req.on('error', () => resolve());
        req.write('--XYZ\r\nContent-Disposition: form-data; name="kind"\r\n\r\nphoto\r\n--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 partial');
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(lines.some((l) => l.msg === 'client aborted the request' && l.level === 30), JSON.stringify(lines.map((l) => l.msg)));
      assert.ok(!lines.some((l) => l.msg === 'unhandled error'), 'not logged as an unhandled error');
    } finally {
      server.close();
    }
  });

  describe('quotas per account (the production defaults)', () => {
    let q: TestApp;
    before(async () => {
      q = await makeTestApp({ clock, config: testConfig({ QUOTA_OPEN_DRAFTS: '', QUOTA_DRAFTS_PER_HOUR: '', QUOTA_COMPLAINTS_PER_DAY: '' }) });
      assert.deepEqual(q.ctx.config.quotas, { openDrafts: 8, draftsPerHour: 30, complaintsPerDay: 20 });
    });
    after(() => q.close());

    it('when a resident has 8 open drafts, then a ninth is refused with 429 and nothing is stored; withdrawing one makes room', async () => {
      const applicant = await registerAndLogin(q.app);
      const create = () => request(q.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) });
      const ids: string[] = [];
      for (let i = 0; i < 8; i += 1) ids.push((await create().expect(201)).body.id);
      const refused = await create().expect(429);
      assert.equal(refused.body.code, 'rate_limited');
      assert.match(refused.body.message.zh, /草稿/);
      assert.equal(await q.ctx.models.Application.countDocuments({ applicantId: applicant.id }), 8);
      await request(q.app).post(`/api/v1/applications/${ids[0]}/withdraw`).set('Authorization', applicant.auth).send({}).expect(200);
      await create().expect(201);
    });

    it('when one account creates more than 30 drafts in an hour, then 429', async () => {
      const applicant = await registerAndLogin(q.app);
      for (let i = 0; i < 30; i += 1) {
        const made = await request(q.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) }).expect(201);
        await request(q.app).post(`/api/v1/applications/${made.body.id}/withdraw`).set('Authorization', applicant.auth).send({}).expect(200);
      }
      const res = await request(q.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) }).expect(429);
      assert.equal(res.body.code, 'rate_limited');
      // Another resident is not affected.
      const other = await registerAndLogin(q.app);
      await request(q.app).post('/api/v1/applications').set('Authorization', other.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), other.idNumber) }).expect(201);
    });

    it('when a resident\'s documents together would pass 200 MB, then the upload is 413 and its bytes are not kept', async () => {
      const applicant = await registerAndLogin(q.app);
      const created = await request(q.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) }).expect(201);
      // What earlier uploads would have left: documents of 200 MB less 10 bytes recorded on another case of the same resident.
      const big = { id: 'x', kind: 'photo', fileName: 'a.pdf', mime: 'application/pdf', size: 200 * 1024 * 1024 - 10, sha256: 'x', storageId: 'gone', uploadedAt: new Date(), uploadedBy: { id: applicant.id, role: 'applicant', name: '李*' } };
      const other = await request(q.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) }).expect(201);
      await q.ctx.models.Application.updateOne({ _id: other.body.id }, { $set: { documents: [big], documentCount: 1 } });
      const before = filesUnder(q.ctx.config.uploadsDir);
      const res = await upload(q.app, applicant.auth, created.body.id, 'photo').expect(413);
      assert.equal(res.body.code, 'payload_too_large');
      assert.deepEqual(filesUnder(q.ctx.config.uploadsDir), before);
      assert.equal((await q.ctx.models.Application.findById(created.body.id).lean())!.documents.length, 0);
    });

    it('when an application has 5 complaints, then a sixth is 429 and not stored', async () => {
      const kiosk = await terminalLogin(q);
      const resident = personId('female', '1990-10-10');
      const created = await request(q.app).post('/api/v1/applications').set('Authorization', kiosk.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), resident), ...terminalFiling(resident) }).expect(201);
      for (const kind of BIRTH_SERVICE_KINDS) await upload(q.app, kiosk.auth, created.body.id, kind).expect(201);
      await request(q.app).post(`/api/v1/applications/${created.body.id}/submit`).set('Authorization', kiosk.auth).send({}).expect(200);
      const complain = () => request(q.app).post(`/api/v1/applications/${created.body.id}/complaints`).set('Authorization', kiosk.auth).send({ text: '办理太慢' });
      for (let i = 0; i < 5; i += 1) await complain().expect(201);
      const res = await complain().expect(429);
      assert.equal(res.body.code, 'rate_limited');
      assert.equal(await q.ctx.models.Complaint.countDocuments({ applicationId: created.body.id }), 5);
    });
  });
});

describe('Start-up log when no mongod can be had', () => {
  it('when the mongod download cannot work, then one plain phrase says so (no empty "Details:")', () => {
    const err = new Error('Download failed for url "https://fastdl.mongodb.org/linux/mongodb-linux-x86_64-debian12-8.2.6.tgz", Details:\n    at x');
    assert.equal(mongodUnavailableReason(err), 'none installed, and fastdl.mongodb.org cannot be reached to download one');
    assert.equal(mongodUnavailableReason(new Error('Instance failed to start, Details:')), 'Instance failed to start');
  });
});
