import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { trustedFilter } from '../service/lib/database';
import type { ApplicationDoc } from '../service/applications/applications.model';
import type { CertificateDoc } from '../service/certificates/certificates.model';
import { SERIAL_KEY } from '../service/certificates/certificates.model';
import { findOneByKey } from '../service/lib/keyindex';
import { makeTestApp, registerAndLogin, staffLogin, testConfig, testKeys, type TestApp } from './support/app';
import { asParty, birthServiceForm, PDF, submittedApplication } from './support/forms';
import { testDatabaseUri } from './support/hooks';
import { startServer } from './support/server-process';

/**
 * The service process is killed (SIGKILL) at injected points, then started again; the invariants
 * must hold after the start-up recovery.
 */
describe('Crash consistency', function () {
  this.timeout(180_000);
  let t: TestApp;
  let env: Record<string, string>;
  let uploadsDir: string;

  before(async function () {
    uploadsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-crash-uploads-'));
    const config = testConfig({ UPLOADS_DIR: uploadsDir });
    t = await makeTestApp({ config });
    env = {
      MONGODB_URI: testDatabaseUri(t.conn.name),
      KEYS_DIR: testKeys().dir,
      UPLOADS_DIR: uploadsDir,
      DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-crash-data-')),
      UPLOAD_SWEEP_GRACE_SECONDS: '0',
    };
  });
  after(() => t.close());

  async function assertInvariants(): Promise<void> {
    const approved = await t.ctx.models.Application.find({ status: 'approved' }).lean<ApplicationDoc[]>();
    for (const app of approved) {
      assert.ok(app.certificate?.serial, `approved ${app.number} carries its certificate`);
      const cert = await t.ctx.models.Certificate.findOne({ serial: app.certificate.serial }).lean<CertificateDoc>();
      assert.ok(cert, `certificate ${app.certificate.serial} is in the register`);
      assert.equal(cert.applicationId, app._id.toString());
      const keyed = await findOneByKey<CertificateDoc>(t.ctx.models, t.ctx.models.Certificate, SERIAL_KEY, app.certificate.serial, { serial: app.certificate.serial });
      assert.equal(keyed?.applicationId, app._id.toString(), 'its serial key finds it');
    }
    const certs = await t.ctx.models.Certificate.find().lean<CertificateDoc[]>();
    for (const cert of certs) {
      const app = await t.ctx.models.Application.findById(cert.applicationId).lean<ApplicationDoc>();
      assert.equal(app?.status, 'approved', `certificate ${cert.serial} belongs to an approved application`);
      assert.equal(app?.certificateSerial, cert.serial);
    }
    // Marked with trustedFilter(): unmarked, sanitizeFilter made this $ne a literal and the check counted nothing.
    const stuck = await t.ctx.models.Application.countDocuments(trustedFilter({ status: 'in_review', issuing: { $ne: null } }));
    assert.equal(stuck, 0, 'no approval is left half-done');
    assert.equal(await t.ctx.models.IssuanceMarker.countDocuments(), 0, 'no issuance mark is left behind');
  }

  async function approveWithCrash(point: string) {
    const applicant = await registerAndLogin(t.app);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);

    const doomed = await startServer({ ...env, FPC_CRASH_POINT: point });
    const attempt = await fetch(`${doomed.url}/api/v1/applications/${sub.id}/decision`, {
      method: 'POST',
      headers: { Authorization: officer.auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ action: 'approve', reason: '同意' }),
    }).then(
      (r) => r.status,
      () => 'connection lost',
    );
    assert.equal(attempt, 'connection lost', 'the process died mid-request');
    assert.equal((await doomed.exited).signal, 'SIGKILL');
    return sub.id;
  }

  it('when the process dies between signing and storing, then after a restart the approval is completed with exactly one certificate', async () => {
    const id = await approveWithCrash('after-sign');
    const halfway = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
    assert.equal(halfway!.status, 'in_review', 'nothing was approved without its certificate');
    assert.ok(halfway!.issuing, 'the decision was reserved');
    assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: id }), 0);

    const server = await startServer(env);
    try {
      const done = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
      assert.equal(done!.status, 'approved');
      assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: id }), 1);
      const verdict = (await (await fetch(`${server.url}/api/v1/verify/${done!.certificate!.token}`)).json()) as { status: string };
      assert.equal(verdict.status, 'valid');
      assert.equal(done!.history.filter((h) => h.action === 'approve').length, 1);
      await assertInvariants();
    } finally {
      await server.stop();
    }
  });

  it('when the process dies after approving but before the register entry, then a restart adds the entry', async () => {
    const id = await approveWithCrash('after-approve');
    const approved = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
    assert.equal(approved!.status, 'approved');
    assert.ok(approved!.certificate, 'approval and certificate were written together');
    assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: id }), 0);

    const server = await startServer(env);
    await server.stop();
    assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: id }), 1);
    await assertInvariants();
  });

  it('when the process dies holding an Idempotency-Key, then a retry after the takeover time creates the application once', async () => {
    const applicant = await registerAndLogin(t.app);
    const body = JSON.stringify({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) });
    const send = (url: string) =>
      fetch(`${url}/api/v1/applications`, {
        method: 'POST',
        headers: { Authorization: applicant.auth, 'Content-Type': 'application/json', 'Idempotency-Key': 'crash-create-1' },
        body,
      });
    const doomed = await startServer({ ...env, FPC_CRASH_POINT: 'idempotency-after-pending' });
    const attempt = await send(doomed.url).then(
      (r) => r.status,
      () => 'connection lost',
    );
    assert.equal(attempt, 'connection lost');
    await doomed.exited;
    const left = await t.ctx.models.IdempotencyKey.findOne({ _id: `applicant:${applicant.id}:create:crash-create-1` }).lean();
    assert.equal(left?.state, 'pending', 'the crash left the key pending');

    const server = await startServer({ ...env, IDEMPOTENCY_TAKEOVER_SECONDS: '1' });
    try {
      await new Promise((r) => setTimeout(r, 1_200));
      const first = await send(server.url);
      assert.equal(first.status, 201, 'the retry is not blocked for ever');
      const created = (await first.json()) as { id: string };
      const again = await send(server.url);
      assert.equal(again.status, 201);
      assert.equal(((await again.json()) as { id: string }).id, created.id, 'a further retry replays the same application');
      assert.equal(await t.ctx.models.Application.countDocuments({ applicantId: applicant.id }), 1);
    } finally {
      await server.stop();
    }
  });

  it('when the process dies after storing an upload but before recording it, then the restart sweep removes the orphan file', async () => {
    const applicant = await registerAndLogin(t.app);
    const created = await request(t.app).post('/api/v1/applications').set('Authorization', applicant.auth).send({ type: 'birth-service', form: asParty('birth-service', birthServiceForm(), applicant.idNumber) }).expect(201);
    const filesBefore = listFiles(uploadsDir);

    const doomed = await startServer({ ...env, FPC_CRASH_POINT: 'upload-after-commit' });
    const form = new FormData();
    form.append('kind', 'photo');
    form.append('file', new Blob([PDF], { type: 'application/pdf' }), 'photo.pdf');
    const attempt = await fetch(`${doomed.url}/api/v1/applications/${created.body.id}/documents`, {
      method: 'POST',
      headers: { Authorization: applicant.auth },
      body: form,
    }).then(
      (r) => r.status,
      () => 'connection lost',
    );
    assert.equal(attempt, 'connection lost');
    await doomed.exited;
    assert.equal(listFiles(uploadsDir).length, filesBefore.length + 1, 'the orphan is on disk');
    const app = await t.ctx.models.Application.findById(created.body.id).lean<ApplicationDoc>();
    assert.equal(app!.documents.length, 0);

    const server = await startServer(env);
    await server.stop();
    assert.deepEqual(listFiles(uploadsDir), filesBefore, 'the sweep removed the unreferenced file');
  });
});

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}
