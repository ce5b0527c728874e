import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';
import type { ApplicationDoc } from '../service/applications/applications.model';
import { FixedClock } from '../service/lib/clock';
import { birthServiceForm, honourForm, migrantForm, personId, rebirthPermitForm, submittedApplication, uploadDocument } from './support/forms';

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

    // The permit was issued by the county: officers see it only when the family lives in their area.
    await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', township.auth).expect(200);
    const elsewhere = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', elsewhere.auth).expect(404);
    const kiosk = await terminalLogin(t);
    await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', kiosk.auth).expect(404);

    const admin = await staffLogin(t, { role: 'admin' });
    await post(`/api/v1/certificates/${serial}/revoke`, admin.auth, { reason: 'fraud', text: '弄虚作假' }).expect(200);
    const revoked = await request(t.app).get(`/api/v1/verify/${token}`).expect(200);
    assert.equal(revoked.body.status, 'revoked');
  });

  describe('access', () => {
    let applicant: Awaited<ReturnType<typeof registerAndLogin>>;
    let id: string;
    before(async () => {
      applicant = await registerAndLogin(t.app);
      id = (await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm())).id;
    });

    it('when applicants or terminals call officer functions, then 403 and nothing changes', async () => {
      const terminal = await terminalLogin(t);
      const before = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
      for (const who of [applicant.auth, terminal.auth]) {
        await request(t.app).get('/api/v1/queue').set('Authorization', who).expect(403);
        await post(`/api/v1/applications/${id}/claim`, who).expect(403);
        await post(`/api/v1/applications/${id}/decision`, who, { action: 'approve' }).expect(403);
        await post('/api/v1/certificates/430725-2026-BS-000001/revoke', who, { reason: 'other', text: '测试原因' }).expect(403);
      }
      const app = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
      assert.equal(app!.status, 'pending');
      assert.equal(app!.history.length, before!.history.length, 'no history line was added');
      assert.deepEqual(app!.updatedAt, before!.updatedAt, 'nothing changed');
      assert.ok(!app!.history.some((h) => h.action === 'claim'));
    });

    it('when an officer of another township or the wrong level looks, then they see nothing and change nothing', async () => {
      const elsewhere = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
      const q = await request(t.app).get('/api/v1/queue').set('Authorization', elsewhere.auth).expect(200);
      assert.ok(!q.body.items.some((i: { id: string }) => i.id === id));
      await request(t.app).get(`/api/v1/applications/${id}`).set('Authorization', elsewhere.auth).expect(404);
      await post(`/api/v1/applications/${id}/claim`, elsewhere.auth).expect(404);
      await post(`/api/v1/applications/${id}/decision`, elsewhere.auth, { action: 'reject', reason: 'x' }).expect(404);
      // The county officer has the jurisdiction but not the level of a township-stage case.
      const cq = await request(t.app).get('/api/v1/queue').set('Authorization', county.auth).expect(200);
      assert.ok(!cq.body.items.some((i: { id: string }) => i.id === id));
      await post(`/api/v1/applications/${id}/claim`, county.auth).expect(404);
      const app = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
      assert.equal(app!.status, 'pending');
      assert.equal(app!.claim, null);
    });

    it('when a decision comes without a claim, then 409 and nothing changes', async () => {
      const res = await post(`/api/v1/applications/${id}/decision`, township.auth, { action: 'approve' }).expect(409);
      assert.equal(res.body.code, 'conflict');
      assert.equal((await t.ctx.models.Application.findById(id).lean<ApplicationDoc>())!.status, 'pending');
    });

    it('when a case names the officer, then they may not claim it', async () => {
      const wifeId = personId('female', '1992-05-01');
      const form = birthServiceForm();
      (form.wife as { idNumber: string }).idNumber = wifeId;
      const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form);
      const relative = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'], idNumber: wifeId });
      const res = await post(`/api/v1/applications/${sub.id}/claim`, relative.auth).expect(403);
      assert.match(res.body.message.zh, /回避/);
    });

    it("when someone asks for another applicant's certificate, then 404", async () => {
      const holder = await registerAndLogin(t.app);
      const sub = await submittedApplication(t.app, holder.auth, 'birth-service', birthServiceForm());
      await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
      const done = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'approve' }).expect(200);
      await request(t.app).get(`/api/v1/certificates/${done.body.certificateSerial}`).set('Authorization', holder.auth).expect(200);
      await request(t.app).get(`/api/v1/certificates/${done.body.certificateSerial}`).set('Authorization', applicant.auth).expect(404);
      await request(t.app).get(`/api/v1/certificates/${done.body.certificateSerial}/qr.png`).set('Authorization', applicant.auth).expect(404);
      const mine = await request(t.app).get('/api/v1/certificates').set('Authorization', holder.auth).expect(200);
      assert.deepEqual(mine.body.items.map((c: { serial: string }) => c.serial), [done.body.certificateSerial]);
    });
  });

  it('when an application is returned for supplement, then the applicant sees what is missing, the clock pauses, and resubmission returns it to the same stage', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'rebirth-permit', rebirthPermitForm());
    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
    await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'return' }).expect(400);
    const returned = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, {
      action: 'return',
      reason: '材料不全',
      missing: ['births-statement'],
    }).expect(200);
    assert.equal(returned.body.status, 'returned');
    const seen = await request(t.app).get(`/api/v1/applications/${sub.id}`).set('Authorization', applicant.auth).expect(200);
    assert.deepEqual(seen.body.missing, ['births-statement']);
    assert.match(seen.body.missingDocuments[0].name.zh, /生育、收养子女情况证明/);
    assert.equal(seen.body.decision.reason, '材料不全');
    const q = await request(t.app).get('/api/v1/queue').set('Authorization', township.auth).expect(200);
    assert.ok(!q.body.items.some((i: { id: string }) => i.id === sub.id), 'not in the queue while returned');

    await uploadDocument(t.app, applicant.auth, sub.id, 'births-statement');
    const again = await post(`/api/v1/applications/${sub.id}/submit`, applicant.auth).expect(200);
    assert.equal(again.body.status, 'pending');
    assert.equal(again.body.stage.id, 'township-review');
    assert.equal(again.body.number, sub.number, 'the number stays');
    assert.deepEqual(again.body.missing, []);
    const history = await request(t.app).get(`/api/v1/applications/${sub.id}/history`).set('Authorization', applicant.auth).expect(200);
    assert.deepEqual(
      history.body.items.map((h: { action: string }) => h.action).filter((a: string) => a !== 'upload'),
      ['create', 'submit', 'claim', 'return', 'resubmit'],
    );
  });

  it('when an officer rejects, then a reason is required, the rejection is final and withdrawal is refused', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
    await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'reject' }).expect(400);
    const rejected = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'reject', reason: '婚姻登记信息与户籍不符' }).expect(200);
    assert.equal(rejected.body.status, 'rejected');
    await post(`/api/v1/applications/${sub.id}/withdraw`, applicant.auth).expect(409);
    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(404);
    const seen = await request(t.app).get(`/api/v1/applications/${sub.id}`).set('Authorization', applicant.auth).expect(200);
    assert.equal(seen.body.decision.reason, '婚姻登记信息与户籍不符');
    assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: sub.id }), 0);
  });

  it('when a lease expires, then another officer may claim and the first can no longer decide; an admin may break a claim', async () => {
    const clock = new FixedClock(new Date());
    const c = await makeTestApp({ clock });
    try {
      const a = await staffLogin(c, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      const b = await staffLogin(c, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      const admin = await staffLogin(c, { role: 'admin' });
      const applicant = await registerAndLogin(c.app);
      const sub = await submittedApplication(c.app, applicant.auth, 'birth-service', birthServiceForm());
      const p = (path: string, auth: string, body: object = {}) => request(c.app).post(path).set('Authorization', auth).send(body);
      await p(`/api/v1/applications/${sub.id}/claim`, a.auth).expect(200);
      await p(`/api/v1/applications/${sub.id}/claim`, b.auth).expect(409);
      clock.advance(31 * 60 * 1000);
      await p(`/api/v1/applications/${sub.id}/claim`, b.auth).expect(200);
      await p(`/api/v1/applications/${sub.id}/decision`, a.auth, { action: 'approve' }).expect(409);
      const q = await request(c.app).get('/api/v1/queue?mine=true').set('Authorization', b.auth).expect(200);
      assert.deepEqual(q.body.items.map((i: { id: string }) => i.id), [sub.id]);
      assert.equal(q.body.items[0].claim.officerId, b.id);
      const broken = await p(`/api/v1/applications/${sub.id}/release`, admin.auth).expect(200);
      assert.equal(broken.body.status, 'pending');
      const app = await c.ctx.models.Application.findById(sub.id).lean<ApplicationDoc>();
      assert.equal(app!.history.at(-1)!.action, 'break-claim');
      await p(`/api/v1/applications/${sub.id}/decision`, b.auth, { action: 'approve' }).expect(409);
    } finally {
      await c.close();
    }
  });

  it('when a re-birth permit is approved, then the couple’s honour certificate is revoked', async () => {
    const applicant = await registerAndLogin(t.app);
    const honour = honourForm();
    const h = await submittedApplication(t.app, applicant.auth, 'only-child-honour', honour);
    await post(`/api/v1/applications/${h.id}/claim`, township.auth).expect(200);
    const hon = await post(`/api/v1/applications/${h.id}/decision`, township.auth, { action: 'approve' }).expect(200);
    const honourSerial = hon.body.certificateSerial as string;
    assert.match(honourSerial, /-OH-/);

    const permit = rebirthPermitForm();
    (permit.husband as { idNumber: string }).idNumber = (honour.husband as { idNumber: string }).idNumber;
    (permit.wife as { idNumber: string }).idNumber = (honour.wife as { idNumber: string }).idNumber;
    const r = await submittedApplication(t.app, applicant.auth, 'rebirth-permit', permit);
    await post(`/api/v1/applications/${r.id}/claim`, township.auth).expect(200);
    await post(`/api/v1/applications/${r.id}/decision`, township.auth, { action: 'approve' }).expect(200);
    await post(`/api/v1/applications/${r.id}/claim`, county.auth).expect(200);
    await post(`/api/v1/applications/${r.id}/decision`, county.auth, { action: 'approve' }).expect(200);

    const cert = await request(t.app).get(`/api/v1/certificates/${honourSerial}`).set('Authorization', applicant.auth).expect(200);
    assert.equal(cert.body.status, 'revoked');
    assert.match(cert.body.revokeReason, /再生育证/);
    const verdict = await request(t.app).get(`/api/v1/verify/${cert.body.token}`).expect(200);
    assert.equal(verdict.body.status, 'revoked');
  });

  it('when the floating-population certificate passes its 3-year validity, then verification says expired', async () => {
    const clock = new FixedClock(new Date());
    const c = await makeTestApp({ clock });
    try {
      const officer = await staffLogin(c, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      const applicant = await registerAndLogin(c.app, { idNumber: uniqueIdNumber('female', 1990) });
      const sub = await submittedApplication(c.app, applicant.auth, 'migrant-marriage', migrantForm());
      await request(c.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
      const done = await request(c.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
      const cert = await request(c.app).get(`/api/v1/certificates/${done.body.certificateSerial}`).set('Authorization', applicant.auth).expect(200);
      assert.equal((await request(c.app).get(`/api/v1/verify/${cert.body.token}`).expect(200)).body.status, 'valid');
      clock.advance((3 * 366 + 1) * 24 * 3600 * 1000);
      assert.equal((await request(c.app).get(`/api/v1/verify/${cert.body.token}`).expect(200)).body.status, 'expired');
      // A bare serial tells only that it exists: its validity takes the signed token.
      const bySerial = await request(c.app).get(`/api/v1/verify/${done.body.certificateSerial}`).expect(200);
      assert.deepEqual(Object.keys(bySerial.body).sort(), ['message', 'serial', 'status']);
      assert.equal(bySerial.body.status, 'exists');
    } finally {
      await c.close();
    }
  });

  it('when a token is tampered with or unknown, then verification answers invalid; printable and QR forms exist', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
    const done = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'approve' }).expect(200);
    const serial = done.body.certificateSerial as string;
    const cert = await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', applicant.auth).expect(200);
    const [h, p, sig] = (cert.body.token as string).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, holder: '假*' })).toString('base64url')}.${sig}`;
    assert.equal((await request(t.app).get(`/api/v1/verify/${forged}`).expect(200)).body.status, 'invalid');
    assert.equal((await request(t.app).get('/api/v1/verify/garbage').expect(200)).body.status, 'invalid');
    assert.equal((await request(t.app).get('/api/v1/verify/430725-2026-BS-999999').expect(200)).body.status, 'invalid');
    const svg = await request(t.app).get(`/api/v1/certificates/${serial}/qr.svg`).set('Authorization', applicant.auth).expect(200);
    assert.match(svg.headers['content-type'], /image\/svg\+xml/);
    const png = await request(t.app).get(`/api/v1/certificates/${serial}/qr.png`).set('Authorization', applicant.auth).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200);
    assert.deepEqual((png.body as Buffer).subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const print = await request(t.app).get(`/api/v1/certificates/${serial}/print`).set('Authorization', applicant.auth).expect(200);
    assert.match(print.text, new RegExp(serial));
    assert.match(print.text, /<svg width="228" height="228"/);
  });

  it('when the queue is read, then items come by committed deadline with overdue flags, totals per type and working cursors', async () => {
    const clock = new FixedClock('2026-11-02T02:00:00Z');
    const c = await makeTestApp({ clock, database: 'queue' });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        // Tokens live an hour on this clock: each day's resident signs in that day.
        const applicant = await registerAndLogin(c.app, i % 2 ? { idNumber: uniqueIdNumber('female', 1990) } : {});
        ids.push((await submittedApplication(c.app, applicant.auth, i % 2 ? 'migrant-marriage' : 'birth-service', i % 2 ? migrantForm() : birthServiceForm())).id);
        clock.advance(24 * 3600 * 1000);
      }
      clock.set('2026-11-20T02:00:00Z');
      const officer = await staffLogin(c, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      const all: Array<{ id: string; committedDeadline: string; overdue: boolean }> = [];
      let cursor: string | null = null;
      do {
        const page: { body: { items: typeof all; next: string | null; totals: Record<string, number> } } = await request(c.app)
          .get(`/api/v1/queue?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
          .set('Authorization', officer.auth)
          .expect(200);
        assert.deepEqual(page.body.totals, { 'birth-service': 3, 'migrant-marriage': 2 });
        all.push(...page.body.items);
        cursor = page.body.next;
      } while (cursor);
      assert.equal(all.length, 5);
      assert.deepEqual([...all.map((i) => i.id)].sort(), [...ids].sort());
      const deadlines = all.map((i) => i.committedDeadline);
      assert.deepEqual(deadlines, [...deadlines].sort(), 'ordered by committed deadline');
      for (const item of all) assert.equal(item.overdue, item.committedDeadline < '2026-11-20');
      const overdue = await request(c.app).get('/api/v1/queue?overdue=true').set('Authorization', officer.auth).expect(200);
      assert.deepEqual(
        overdue.body.items.map((i: { id: string }) => i.id).sort(),
        all.filter((i) => i.overdue).map((i) => i.id).sort(),
      );
      assert.ok(overdue.body.items.length > 0, 'the 1-working-day migrant items are overdue by then');
      const typed = await request(c.app).get('/api/v1/queue?type=migrant-marriage').set('Authorization', officer.auth).expect(200);
      assert.equal(typed.body.items.length, 2);
    } finally {
      await c.close();
    }
  });
});
