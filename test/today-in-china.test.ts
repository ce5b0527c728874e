import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication } from './support/forms';

describe('Today is the date in China', function () {
  this.timeout(60_000);
  // 07:30 on Tuesday 10 March 2026 in Beijing is still Monday 9 March in UTC.
  const clock = new FixedClock('2026-03-09T23:30:00Z');
  let t: TestApp;
  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  it('when a certificate is issued at 07:30 Beijing time, then it prints that day, and the case counts from that day', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    // Accepted on Tue 10 March (China): 10 working days end on Tue 24 March, not Mon 23 March.
    assert.equal((sub.stage as { committedDeadline: string }).committedDeadline, '2026-03-24');
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    const done = await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve', reason: '同意' }).expect(200);
    assert.match(done.body.certificateSerial, /^430725-2026-BS-\d{6}$/);
    const page = await request(t.app).get(`/api/v1/certificates/${done.body.certificateSerial}/print`).set('Authorization', applicant.auth).expect(200);
    assert.match(page.text, /发证日期 Issued<\/th><td>2026-03-10</);
    assert.doesNotMatch(page.text, /2026-03-09/);
  });
});
