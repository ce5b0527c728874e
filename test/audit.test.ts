import assert from 'node:assert/strict';
import request from 'supertest';
import { migrateAccessLog } from '../service/audit/audit.service';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication } from './support/forms';

describe('Access log: who among the staff opened a file', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  it('when an officer opens an application, its history and a document, then each read is logged; the resident’s own reads are not; only admins read the log', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const admin = await staffLogin(t, { role: 'admin' });

    await request(t.app).get(`/api/v1/applications/${sub.id}`).set('Authorization', applicant.auth).expect(200);
    const seen = await request(t.app).get(`/api/v1/applications/${sub.id}`).set('Authorization', officer.auth).expect(200);
    await request(t.app).get(`/api/v1/applications/${sub.id}/history`).set('Authorization', officer.auth).expect(200);
    const doc = seen.body.documents[0];
    await request(t.app).get(`/api/v1/applications/${sub.id}/documents/${doc.id}`).set('Authorization', officer.auth).expect(200);

    const log = await request(t.app).get(`/api/v1/applications/${sub.id}/access-log`).set('Authorization', admin.auth).expect(200);
    assert.deepEqual(
      log.body.items.map((e: { what: string; actor: { id: string } }) => [e.what, e.actor.id]),
      [
        ['view', officer.id],
        ['history', officer.id],
        [`download:${doc.kind}`, officer.id],
      ],
    );
    const bucket = await t.ctx.models.AccessLog.findById(sub.id).lean();
    assert.deepEqual(bucket?.entries.map((e) => e.actor.id), [officer.id, officer.id, officer.id], 'one bucket per application; the resident’s own reads are not in it');

    await request(t.app).get(`/api/v1/applications/${sub.id}/access-log`).set('Authorization', officer.auth).expect(403);
    await request(t.app).get(`/api/v1/applications/${sub.id}/access-log`).set('Authorization', applicant.auth).expect(403);
  });

  it('when entries of the former one-document-per-read log exist, then the start-up migration moves them into the buckets once', async () => {
    const admin = await staffLogin(t, { role: 'admin' });
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    const legacy = t.conn.db!.collection('access_log');
    const at = new Date('2025-01-02T03:04:05Z');
    await legacy.insertMany([
      { at, applicationId: sub.id, actor: { id: 'o-old', role: 'officer', name: '旧' }, what: 'view' },
      { at: new Date(at.getTime() + 1000), applicationId: sub.id, actor: { id: 'o-old', role: 'officer', name: '旧' }, what: 'history' },
    ]);
    assert.ok((await migrateAccessLog(t.ctx)) >= 2);
    assert.equal(await legacy.countDocuments({ applicationId: sub.id }), 0);
    const log = await request(t.app).get(`/api/v1/applications/${sub.id}/access-log`).set('Authorization', admin.auth).expect(200);
    assert.deepEqual(log.body.items.map((e: { what: string }) => e.what), ['view', 'history']);
    assert.equal(await migrateAccessLog(t.ctx), 0, 'nothing left to move');
  });
});
