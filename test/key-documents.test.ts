import assert from 'node:assert/strict';
import type { CommandStartedEvent } from 'mongodb';
import { Types } from 'mongoose';
import request from 'supertest';
import { APPLICANT_KEY, backfillApplicationKeys, NUMBER_KEY, TERMINAL_DRAFT_KEY } from '../service/applications/applications.service';
import { SERIAL_KEY } from '../service/certificates/certificates.model';
import { recoverIssuance } from '../service/certificates/certificates.service';
import { trustedFilter } from '../service/lib/database';
import { addKey } from '../service/lib/keyindex';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import { asParty, birthServiceForm, submittedApplication, terminalFiling } from './support/forms';

const quiet = { info: () => {}, warn: () => {} };

/**
 * Key documents (service/lib/keyindex.ts): lookups by a natural key read small documents by _id,
 * never scan a growing collection, and stay right when a write between key and document is lost.
 */
describe('Key documents', function () {
  this.timeout(120_000);
  let t: TestApp;
  const sent: CommandStartedEvent[] = [];
  let applicant: Awaited<ReturnType<typeof registerAndLogin>>;
  let id: string;
  let number: string;
  let serial: string;
  let token: string;

  before(async () => {
    t = await makeTestApp({ monitorCommands: true });
    t.conn.getClient().on('commandStarted', (e) => sent.push(e));
    applicant = await registerAndLogin(t.app);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    id = sub.id;
    number = sub.number;
    await request(t.app).post(`/api/v1/applications/${id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    serial = (await request(t.app).post(`/api/v1/applications/${id}/decision`).set('Authorization', officer.auth).send({ action: 'approve', reason: '同意' }).expect(200)).body.certificateSerial;
    token = (await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', applicant.auth).expect(200)).body.token;
  });
  after(() => t.close());

  /** Reads (find, aggregate, count) on the growing collections whose filter is anything but `_id`. */
  const scans = (): string[] =>
    sent
      .filter((e) => ['find', 'aggregate', 'count'].includes(e.commandName) && ['applications', 'certificates'].includes(String(e.command[e.commandName])))
      .filter((e) => e.commandName !== 'find' || Object.keys(e.command.filter ?? {}).join() !== '_id')
      .map((e) => `${e.commandName} ${String(e.command[e.commandName])} ${JSON.stringify(e.command.filter ?? e.command.pipeline)}`);

  it('when an application is filed and approved, then its number, its applicant and its certificate serial each have a key document', async () => {
    const keys = await t.ctx.models.KeyIndex.find(trustedFilter({ _id: { $in: [`${NUMBER_KEY}:${number}`, `${APPLICANT_KEY}:${applicant.id}`, `${SERIAL_KEY}:${serial}`] } })).lean();
    assert.deepEqual(keys.map((k) => [k._id, k.ids.map(String)]).sort(), [
      [`${APPLICANT_KEY}:${applicant.id}`, [id]],
      [`${SERIAL_KEY}:${serial}`, [id]],
      [`${NUMBER_KEY}:${number}`, [id]],
    ].sort());
  });

  it('when the public verifies, looks up a case, or the resident lists applications and certificates, then nothing scans applications or certificates', async () => {
    sent.length = 0;
    assert.equal((await request(t.app).get(`/api/v1/verify/${token}`).expect(200)).body.status, 'valid');
    assert.equal((await request(t.app).get(`/api/v1/verify/${serial}`).expect(200)).body.status, 'exists');
    const status = await request(t.app).post('/api/v1/status').send({ number, idNumber: applicant.idNumber }).expect(200);
    assert.equal(status.body.status, 'approved');
    const own = await request(t.app).get('/api/v1/applications').set('Authorization', applicant.auth).expect(200);
    assert.deepEqual((own.body.items ?? own.body).map((a: { id: string }) => a.id), [id]);
    const certs = await request(t.app).get('/api/v1/certificates').set('Authorization', applicant.auth).expect(200);
    assert.deepEqual((certs.body.items ?? certs.body).map((c: { serial: string }) => c.serial), [serial]);
    assert.deepEqual(scans(), []);
  });

  it('when a resident or an officer signs in, then the account is found through its login key, by _id', async () => {
    sent.length = 0;
    await request(t.app).post('/api/v1/auth/login').send({ idNumber: applicant.idNumber, password: 'correct horse' }).expect(200);
    const onAccounts = sent.filter((e) => ['find', 'aggregate', 'count'].includes(e.commandName) && e.command[e.commandName] === 'accounts');
    assert.ok(onAccounts.length >= 1);
    for (const e of onAccounts) assert.deepEqual(Object.keys(e.command.filter ?? {}), ['_id'], JSON.stringify(e.command.filter));
    await request(t.app).post('/api/v1/auth/login').send({ idNumber: applicant.idNumber, password: 'wrong password' }).expect(401);
  });

  it('when a kiosk files, then its open drafts are counted through its key (no scan), and drafts it withdrew leave the key', async () => {
    const kiosk = await terminalLogin(t);
    // The kiosk's resident is a party (the wife) of each filing.
    const filing = () => {
      const resident = uniqueIdNumber('female');
      return { type: 'birth-service', form: asParty('birth-service', birthServiceForm(), resident), ...terminalFiling(resident) };
    };
    const first = await request(t.app).post('/api/v1/applications').set('Authorization', kiosk.auth).send(filing()).expect(201);
    await request(t.app).post(`/api/v1/applications/${first.body.id}/withdraw`).set('Authorization', kiosk.auth).send({}).expect(200);
    sent.length = 0;
    const second = await request(t.app).post('/api/v1/applications').set('Authorization', kiosk.auth).send(filing()).expect(201);
    assert.deepEqual(scans(), []);
    const key = await t.ctx.models.KeyIndex.findById(`${TERMINAL_DRAFT_KEY}:${kiosk.terminalId}`).lean();
    assert.deepEqual(key?.ids.map(String), [second.body.id], 'the withdrawn draft was pruned, the new one added');
  });

  it('when a key points at a document that does not carry the value (a write lost after the key), then the lookup finds nothing', async () => {
    await addKey(t.ctx.models, SERIAL_KEY, '430725-2099-BS-999999', new Types.ObjectId(id));
    await addKey(t.ctx.models, NUMBER_KEY, '430725-2099-999999', new Types.ObjectId(id));
    assert.equal((await request(t.app).get('/api/v1/verify/430725-2099-BS-999999').expect(200)).body.status, 'invalid');
    await request(t.app).post('/api/v1/status').send({ number: '430725-2099-999999', idNumber: applicant.idNumber }).expect(404);
  });

  it('when keys are missing (data from before them), then the start-up backfill restores them from one scan and lookups work again', async () => {
    await t.ctx.models.KeyIndex.deleteMany({});
    assert.equal((await request(t.app).get(`/api/v1/verify/${serial}`).expect(200)).body.status, 'invalid', 'without its key the serial is unknown');
    assert.ok((await backfillApplicationKeys(t.ctx)) >= 2);
    await recoverIssuance(t.ctx, quiet, 0, { full: true });
    assert.equal((await request(t.app).get(`/api/v1/verify/${serial}`).expect(200)).body.status, 'exists');
    await request(t.app).post('/api/v1/status').send({ number, idNumber: applicant.idNumber }).expect(200);
    assert.equal(await backfillApplicationKeys(t.ctx), 0, 'a second backfill adds nothing');
  });
});
