import assert from 'node:assert/strict';
import request from 'supertest';
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
    assert.equal(await t.ctx.models.AccessLog.countDocuments({ applicationId: sub.id, 'actor.id': applicant.id }), 0);

    await request(t.app).get(`/api/v1/applications/${sub.id}/access-log`).set('Authorization', officer.auth).expect(403);
    await request(t.app).get(`/api/v1/applications/${sub.id}/access-log`).set('Authorization', applicant.auth).expect(403);
  });
});
