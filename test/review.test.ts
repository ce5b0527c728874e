import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, type TestApp } from './support/app';
import { birthServiceForm, rebirthPermitForm, submittedApplication } from './support/forms';

describe('Review: queue, claims, decisions and certificates', function () {
  this.timeout(60_000);
  let t: TestApp;
  let township: Awaited<ReturnType<typeof staffLogin>>;
  let county: Awaited<ReturnType<typeof staffLogin>>;
  before(async () => {
    t = await makeTestApp();
    township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    county = await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
  });
  after(() => t.close());

  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);

  it('when a re-birth permit goes through township and county, then it yields a certificate that verifies online and offline, and revocation shows', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'rebirth-permit', rebirthPermitForm());
    assert.equal(sub.status, 'pending');
    assert.match(sub.number, /^430725-\d{4}-\d{6}$/);

    const q1 = await request(t.app).get('/api/v1/queue').set('Authorization', township.auth).expect(200);
    assert.ok(q1.body.items.some((i: { id: string }) => i.id === sub.id));
    const cq = await request(t.app).get('/api/v1/queue').set('Authorization', county.auth).expect(200);
    assert.ok(!cq.body.items.some((i: { id: string }) => i.id === sub.id), 'not yet in the county queue');

    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
    const afterTownship = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'approve', reason: '材料齐全' }).expect(200);
    assert.equal(afterTownship.body.status, 'pending');
    assert.equal(afterTownship.body.stage.level, 'county');

    const cq2 = await request(t.app).get('/api/v1/queue').set('Authorization', county.auth).expect(200);
    assert.ok(cq2.body.items.some((i: { id: string }) => i.id === sub.id), 'now in the county queue');
    await post(`/api/v1/applications/${sub.id}/claim`, county.auth).expect(200);
    const approved = await post(`/api/v1/applications/${sub.id}/decision`, county.auth, { action: 'approve', reason: '同意' }).expect(200);
    assert.equal(approved.body.status, 'approved');
    const serial = approved.body.certificateSerial as string;
    assert.match(serial, /^430725-\d{4}-RB-\d{6}$/);

    const cert = await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', applicant.auth).expect(200);
    const token = cert.body.token as string;
    const online = await request(t.app).get(`/api/v1/verify/${token}`).expect(200);
    assert.equal(online.body.status, 'valid');
    assert.doesNotMatch(JSON.stringify(online.body), /王强|赵敏/);

    const jwks = await request(t.app).get('/.well-known/jwks.json').expect(200);
    const kid = (jwt.decode(token, { complete: true })!.header.kid) as string;
    const jwk = jwks.body.keys.find((k: { kid: string }) => k.kid === kid);
    const offline = jwt.verify(token, crypto.createPublicKey({ key: jwk, format: 'jwk' }), { algorithms: ['ES256'] }) as jwt.JwtPayload;
    assert.equal(offline.serial, serial);

    const admin = await staffLogin(t, { role: 'admin' });
    await post(`/api/v1/certificates/${serial}/revoke`, admin.auth, { reason: '弄虚作假' }).expect(200);
    const revoked = await request(t.app).get(`/api/v1/verify/${token}`).expect(200);
    assert.equal(revoked.body.status, 'revoked');
  });
});
