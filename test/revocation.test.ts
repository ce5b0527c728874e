import assert from 'node:assert/strict';
import request from 'supertest';
import { makeTestApp, registerAndLogin, staffLogin, uniqueIdNumber, type TestApp } from './support/app';
import { birthServiceForm, migrantForm, personId, rebirthPermitForm, submittedApplication } from './support/forms';

describe('revocation: reasons from a list, who may revoke, the holder told, the public query shows it', () => {
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

  async function approved(type: 'birth-service' | 'rebirth-permit') {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, type, type === 'birth-service' ? birthServiceForm() : rebirthPermitForm());
    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
    let done = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'approve' }).expect(200);
    if (type === 'rebirth-permit') {
      await post(`/api/v1/applications/${sub.id}/claim`, county.auth).expect(200);
      done = await post(`/api/v1/applications/${sub.id}/decision`, county.auth, { action: 'approve' }).expect(200);
    }
    return { applicant, id: sub.id, number: sub.number, serial: done.body.certificateSerial as string };
  }

  it('when a certificate is printed or verified, then the issuer is the real authority: the township government, or the county health bureau', async () => {
    const birth = await approved('birth-service');
    const page = await request(t.app).get(`/api/v1/certificates/${birth.serial}/print`).set('Authorization', birth.applicant.auth).expect(200);
    assert.match(page.text, /桃源县陬市镇人民政府 \(430725101\)/);
    const permit = await approved('rebirth-permit');
    const cert = await t.ctx.models.Certificate.findOne({ serial: permit.serial }).lean();
    const verdict = await request(t.app).get(`/api/v1/verify/${cert!.token}`).expect(200);
    assert.equal(verdict.body.issuer, '桃源县卫生健康局');
  });

  it('when a migrant-marriage certificate is printed, then it shows marital status, spouse, children born and contraception, none of it in the QR token', async () => {
    // The woman herself files the migrant certificate.
    const applicant = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('female', 1992) });
    const spouseId = personId('male', '1994-02-02');
    const form = {
      ...migrantForm(),
      maritalStatus: 'married',
      spouse: { name: '陈刚', idNumber: spouseId },
      marriage: { date: '2018-05-01', kind: 'first' },
      children: [{ sex: 'female', birthDate: '2019-08-08', alive: true, origin: 'joint' }],
      contraception: { method: 'iud', since: '2019-12-01' },
    };
    const sub = await submittedApplication(t.app, applicant.auth, 'migrant-marriage', form);
    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
    const done = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'approve' }).expect(200);
    const page = await request(t.app).get(`/api/v1/certificates/${done.body.certificateSerial}/print`).set('Authorization', applicant.auth).expect(200);
    assert.match(page.text, /婚姻状况 Marital status<\/th><td>已婚 married/);
    assert.match(page.text, new RegExp(`配偶 Spouse</th><td>陈刚 ${spouseId.slice(0, 6)}\\*{8}${spouseId.slice(-4)}`));
    assert.match(page.text, /生育状况 Children born<\/th><td>1 个 \(女 2019\)/);
    assert.match(page.text, /避孕节育情况 Contraception<\/th><td>宫内节育器 IUD（自 2019-12-01）/);
    assert.ok(!page.text.includes(spouseId), 'the spouse ID number is masked');
    const cert = await t.ctx.models.Certificate.findOne({ serial: done.body.certificateSerial }).lean();
    const claims = Buffer.from(cert!.token.split('.')[1]!, 'base64url').toString('utf8');
    assert.doesNotMatch(claims, /iud|married|陈刚/);
  });

  it('when the township revokes what it issued for fraud, then the reason is recorded, the holder notified and the public query says revoked', async () => {
    const { applicant, id, number, serial } = await approved('birth-service');
    const res = await post(`/api/v1/certificates/${serial}/revoke`, township.auth, { reason: 'fraud', text: '结婚证系伪造' }).expect(200);
    assert.equal(res.body.status, 'revoked');
    assert.equal(res.body.revokeReasonCode, 'fraud');
    assert.match(res.body.revokeReason, /以欺骗等不正当手段取得.*第六十九条.*：结婚证系伪造/);
    const notice = await t.ctx.models.Notification.findOne({ applicationId: id, event: 'certificate-revoked' }).lean();
    assert.ok(notice, 'the holder is told');
    assert.match(notice!.text, new RegExp(`${serial}）已被注销，理由：以欺骗`));
    const status = await request(t.app).post('/api/v1/status').send({ number, idNumber: applicant.idNumber }).expect(200);
    assert.equal(status.body.certificateStatus, 'revoked');
    await post(`/api/v1/certificates/${serial}/revoke`, county.auth, { reason: 'other', text: '再次' }).expect(409);
  });

  it('when a township officer tries to revoke a county-issued permit, then 403 and it stays valid; the county may', async () => {
    const { number, applicant, serial } = await approved('rebirth-permit');
    const refused = await post(`/api/v1/certificates/${serial}/revoke`, township.auth, { reason: 'decision-error' }).expect(403);
    assert.match(refused.body.message.zh, /乡镇只能注销本乡镇发放的证件/);
    assert.equal((await t.ctx.models.Certificate.findOne({ serial }).lean())?.status, 'valid');
    const before = await request(t.app).post('/api/v1/status').send({ number, idNumber: applicant.idNumber }).expect(200);
    assert.equal(before.body.certificateStatus, 'valid');
    const res = await post(`/api/v1/certificates/${serial}/revoke`, county.auth, { reason: 'decision-error' }).expect(200);
    assert.equal(res.body.revokeReasonCode, 'decision-error');
  });

  it('when the reason is free text, or "other" without text, then 400 and nothing changes', async () => {
    const { serial } = await approved('birth-service');
    for (const body of [{ reason: '弄虚作假' }, { reason: 'other' }, { reason: 'fraud', text: 'x', extra: 1 }]) {
      await post(`/api/v1/certificates/${serial}/revoke`, county.auth, body).expect(400);
    }
    assert.equal((await t.ctx.models.Certificate.findOne({ serial }).lean())?.status, 'valid');
  });
});
