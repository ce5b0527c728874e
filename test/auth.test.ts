import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createAuthenticator, purgeEndedSessions, setDisabled } from '../service/accounts/accounts.service';
import { createApp } from '../service/app';
import { FixedClock } from '../service/lib/clock';
import { generateKey, loadKeyRing } from '../service/lib/keys';
import { signToken } from '../service/lib/tokens';
import { idHash } from '../service/lib/personal';
import { makeTestApp, register, registerAndLogin, staffLogin, terminalLogin, testConfig, uniqueIdNumber, uniquePhone, type TestApp } from './support/app';

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('Accounts and access tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  const me = (auth?: string) => {
    const r = request(t.app).get('/api/v1/auth/me');
    return auth === undefined ? r : r.set('Authorization', auth);
  };
  const settings = () => t.ctx.config.tokens;
  // A well-formed session id, so that each forged token below is refused for its one flaw only.
  const claimsFor = (sub: string) => ({ typ: 'access', sub, role: 'applicant', sid: `test-${sub}` });

  describe('registration and sign-in', () => {
    it('when a resident registers with the code sent to the phone, then 202 and the number is stored only as hash, ciphertext and mask', async () => {
      const idNumber = uniqueIdNumber('female');
      const phone = uniquePhone();
      const res = await register(t.app, { idNumber, name: '刘洋', phone, password: 'a good password' });
      assert.equal(res.status, 202);
      assert.equal(res.body.accepted, true);
      const stored = await t.ctx.models.Account.findOne({ loginKey: `id:${idHash(t.ctx.keys.idHash, idNumber)}` }).lean();
      assert.ok(stored);
      assert.equal(stored.role, 'applicant');
      assert.equal(stored.idMasked, `${idNumber.slice(0, 6)}********${idNumber.slice(-4)}`);
      assert.ok(!JSON.stringify(stored).includes(idNumber), 'the plain ID number must not be stored');
      assert.ok(!JSON.stringify(stored).includes(phone), 'nor the phone number');
      assert.notEqual(stored.passwordHash, 'a good password');
      assert.match(stored.passwordHash, /^scrypt\$/);
      const codes = JSON.stringify(await t.ctx.models.PhoneCode.find().lean());
      assert.ok(!codes.includes(phone), 'the code record keeps no phone number');
    });

    it('when the ID number has a wrong check character, then 400 on idNumber and no account', async () => {
      const before = await t.ctx.models.Account.countDocuments();
      const res = await request(t.app)
        .post('/api/v1/auth/register')
        .send({ idNumber: '430725198001010010', name: '张三', phone: '13800000000', password: 'secret-pass', code: '123456' })
        .expect(400);
      assert.equal(res.body.errors[0].path, 'idNumber');
      assert.match(res.body.errors[0].messages.zh, /校验位/);
      assert.equal(await t.ctx.models.Account.countDocuments(), before);
    });

    it('when operator objects stand where strings belong, then 400 and nothing changes', async () => {
      const before = await t.ctx.models.Account.countDocuments();
      const reg = await request(t.app)
        .post('/api/v1/auth/register')
        .send({ idNumber: { $ne: null }, name: '张三', phone: '13800000000', password: 'secret-pass', code: '123456' })
        .expect(400);
      assert.equal(reg.body.errors[0].path, 'idNumber');
      const login = await request(t.app).post('/api/v1/auth/login').send({ username: { $gt: '' }, password: { $ne: null } }).expect(400);
      assert.deepEqual(login.body.errors.map((e: { path: string }) => e.path).sort(), ['password', 'username']);
      await request(t.app).post('/api/v1/auth/register').send({ idNumber: uniqueIdNumber(), name: 'x', phone: '13800000000', password: 'secret-pass', code: '123456', role: 'admin' }).expect(400);
      await request(t.app).post('/api/v1/auth/register').send(JSON.parse(`{"idNumber":"${uniqueIdNumber()}","name":"x","phone":"13800000000","password":"secret-pass","code":"123456","__proto__":{"role":"admin"}}`)).expect(400);
      assert.equal(await t.ctx.models.Account.countDocuments(), before);
    });

    it('when the check character is X, then lower-case x signs in too', async () => {
      let idNumber = uniqueIdNumber();
      while (!idNumber.endsWith('X')) idNumber = uniqueIdNumber();
      assert.equal((await register(t.app, { idNumber: idNumber.toLowerCase(), name: '陈静', password: 'secret-pass' })).status, 202);
      const res = await request(t.app).post('/api/v1/auth/login').send({ idNumber: idNumber.toLowerCase(), password: 'secret-pass' }).expect(200);
      assert.equal(res.body.tokenType, 'Bearer');
      assert.equal(res.body.role, 'applicant');
      assert.ok(res.body.expiresIn > 0);
    });

    it('when the password is wrong or the account unknown, then the same 401', async () => {
      const a = await registerAndLogin(t.app);
      const wrong = await request(t.app).post('/api/v1/auth/login').send({ idNumber: a.idNumber, password: 'not it' }).expect(401);
      const unknown = await request(t.app).post('/api/v1/auth/login').send({ idNumber: uniqueIdNumber(), password: 'not it' }).expect(401);
      assert.equal(wrong.body.code, 'invalid_credentials');
      assert.deepEqual(unknown.body.message, wrong.body.message);
    });

    it('when both or neither of idNumber and username are given, then 400', async () => {
      await request(t.app).post('/api/v1/auth/login').send({ password: 'x' }).expect(400);
      await request(t.app).post('/api/v1/auth/login').send({ username: 'a', idNumber: uniqueIdNumber(), password: 'x' }).expect(400);
    });

    it('when someone guesses one account\'s password repeatedly, then 429, while a neighbour at the same kiosk still signs in', async () => {
      const victim = await registerAndLogin(t.app);
      const neighbour = await registerAndLogin(t.app);
      for (let i = 0; i < 9; i += 1) {
        await request(t.app).post('/api/v1/auth/login').send({ idNumber: victim.idNumber, password: `guess ${i}` }).expect(401);
      }
      const limited = await request(t.app).post('/api/v1/auth/login').send({ idNumber: victim.idNumber, password: 'guess x' }).expect(429);
      assert.equal(limited.body.code, 'rate_limited');
      // A forged X-Forwarded-For does not open a fresh bucket (no proxy is trusted by default).
      await request(t.app).post('/api/v1/auth/login').set('X-Forwarded-For', '203.0.113.9').send({ idNumber: victim.idNumber, password: 'guess y' }).expect(429);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber: neighbour.idNumber, password: 'correct horse' }).expect(200);
    });

    it('when staff sign in, then their token carries role, level and jurisdiction', async () => {
      const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      const res = await me(officer.auth).expect(200);
      assert.equal(res.body.role, 'officer');
      assert.equal(res.body.level, 'township');
      assert.deepEqual(res.body.jurisdiction, ['430725101']);
      assert.equal(res.headers['cache-control'], 'no-store');
    });

    it('when a terminal exchanges its credential, then a short-lived token bound to its township', async () => {
      const term = await terminalLogin(t, '430725216');
      const res = await me(term.auth).expect(200);
      assert.equal(res.body.role, 'terminal');
      assert.equal(res.body.township, '430725216');
      const decoded = jwt.decode(term.token) as jwt.JwtPayload;
      assert.ok(decoded.exp! - decoded.iat! <= 900);
      await request(t.app).post('/api/v1/auth/terminal-token').send({ terminalId: term.terminalId, secret: 'wrong' }).expect(401);
    });
  });

  describe('token attacks (each answers 401 invalid_token)', () => {
    let applicant: Awaited<ReturnType<typeof registerAndLogin>>;
    before(async () => {
      applicant = await registerAndLogin(t.app);
    });

    it('a valid token works (the control case)', async () => {
      const res = await me(applicant.auth).expect(200);
      assert.equal(res.body.id, applicant.id);
    });

    it('no token → 401 unauthenticated', async () => {
      const res = await me().expect(401);
      assert.equal(res.body.code, 'unauthenticated');
    });

    const expectInvalid = async (auth: string) => {
      const res = await me(auth).expect(401);
      assert.equal(res.body.code, 'invalid_token');
    };

    it('garbage', () => expectInvalid('Bearer not-a-token'));
    it('another scheme', () => expectInvalid(`Basic ${applicant.token}`));

    it('alg none', async () => {
      const header = { alg: 'none', typ: 'JWT', kid: t.ctx.keys.access.active().kid };
      const now = Math.floor(Date.now() / 1000);
      const payload = { ...claimsFor(applicant.id), iat: now, exp: now + 600, iss: settings().issuer, aud: settings().audience };
      await expectInvalid(`Bearer ${b64(header)}.${b64(payload)}.`);
    });

    it('HS256 signed with the public key', async () => {
      const key = t.ctx.keys.access.active();
      const publicPem = key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const header = { alg: 'HS256', typ: 'JWT', kid: key.kid };
      const now = Math.floor(Date.now() / 1000);
      const payload = { ...claimsFor(applicant.id), iat: now, exp: now + 600, iss: settings().issuer, aud: settings().audience };
      const signingInput = `${b64(header)}.${b64(payload)}`;
      const sig = crypto.createHmac('sha256', publicPem).update(signingInput).digest('base64url');
      await expectInvalid(`Bearer ${signingInput}.${sig}`);
    });

    it('expired', async () => {
      const past = new FixedClock(new Date(Date.now() - 2 * 3600_000));
      await expectInvalid(`Bearer ${signToken(t.ctx.keys.access, settings(), past, claimsFor(applicant.id), 60)}`);
    });

    it('missing exp', async () => {
      const clock = new FixedClock(new Date());
      await expectInvalid(`Bearer ${signToken(t.ctx.keys.access, settings(), clock, claimsFor(applicant.id), undefined)}`);
    });

    it('wrong audience', async () => {
      const clock = new FixedClock(new Date());
      await expectInvalid(`Bearer ${signToken(t.ctx.keys.access, { ...settings(), audience: 'someone-else' }, clock, claimsFor(applicant.id), 600)}`);
    });

    it('wrong issuer', async () => {
      const clock = new FixedClock(new Date());
      await expectInvalid(`Bearer ${signToken(t.ctx.keys.access, { ...settings(), issuer: 'evil.example' }, clock, claimsFor(applicant.id), 600)}`);
    });

    it('unknown kid (a key we never configured)', async () => {
      const dir = fs.mkdtempSync(`${os.tmpdir()}/fpc-rogue-`);
      const rogue = loadKeyRing(dir, 'access', true);
      await expectInvalid(`Bearer ${signToken(rogue, settings(), new FixedClock(new Date()), claimsFor(applicant.id), 600)}`);
    });

    it('edited payload (role raised to admin)', async () => {
      const [h, p, s] = applicant.token.split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
      await expectInvalid(`Bearer ${h}.${b64({ ...payload, role: 'admin' })}.${s}`);
    });

    it('a certificate token used as an access token', async () => {
      const clock = new FixedClock(new Date());
      const certToken = signToken(t.ctx.keys.certificate, settings(), clock, { ...claimsFor(applicant.id), typ: 'certificate' }, 600);
      await expectInvalid(`Bearer ${certToken}`);
      const wrongType = signToken(t.ctx.keys.access, settings(), clock, { ...claimsFor(applicant.id), typ: 'certificate' }, 600);
      await expectInvalid(`Bearer ${wrongType}`);
    });

    it('a disabled account (its earlier token stops working at once)', async () => {
      const victim = await registerAndLogin(t.app);
      await me(victim.auth).expect(200);
      assert.ok(await setDisabled(t.ctx, { idNumber: victim.idNumber }, true));
      await expectInvalid(victim.auth);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber: victim.idNumber, password: 'correct horse' }).expect(401);
    });

    it('a disabled terminal', async () => {
      const term = await terminalLogin(t);
      assert.ok(await setDisabled(t.ctx, { terminalId: term.terminalId }, true));
      await expectInvalid(term.auth);
    });
  });

  describe('signing out', () => {
    it('when a resident signs out, then that token stops at once and Clear-Site-Data is sent; another session goes on', async () => {
      const applicant = await registerAndLogin(t.app);
      const other = await request(t.app).post('/api/v1/auth/login').send({ idNumber: applicant.idNumber, password: 'correct horse' }).expect(200);
      const res = await request(t.app).post('/api/v1/auth/logout').set('Authorization', applicant.auth).send({}).expect(204);
      assert.match(String(res.headers['clear-site-data']), /"cookies"/);
      assert.equal((await me(applicant.auth).expect(401)).body.code, 'invalid_token');
      await me(`Bearer ${other.body.accessToken}`).expect(200);
    });

    it('when a resident signs out everywhere, then every earlier token stops; a new sign-in works', async () => {
      const applicant = await registerAndLogin(t.app);
      const other = await request(t.app).post('/api/v1/auth/login').send({ idNumber: applicant.idNumber, password: 'correct horse' }).expect(200);
      await request(t.app).post('/api/v1/auth/logout').set('Authorization', applicant.auth).send({ everywhere: true }).expect(204);
      await me(applicant.auth).expect(401);
      await me(`Bearer ${other.body.accessToken}`).expect(401);
      const fresh = await request(t.app).post('/api/v1/auth/login').send({ idNumber: applicant.idNumber, password: 'correct horse' }).expect(200);
      await me(`Bearer ${fresh.body.accessToken}`).expect(200);
    });

    it('when a kiosk signs out, then its token stops', async () => {
      const kiosk = await terminalLogin(t);
      await request(t.app).post('/api/v1/auth/logout').set('Authorization', kiosk.auth).send({}).expect(204);
      await me(kiosk.auth).expect(401);
    });

    it('when ended sessions have expired anyway, then the clean-up forgets them', async () => {
      await t.ctx.models.EndedSession.create({ _id: `old-${Date.now()}`, until: new Date(Date.now() - 1000) });
      assert.ok((await purgeEndedSessions(t.ctx)) >= 1);
    });
  });

  describe('key rotation', () => {
    it('when a new access key becomes active, then tokens signed by the old key still verify during the overlap', async () => {
      const dir = fs.mkdtempSync(`${os.tmpdir()}/fpc-rotate-`);
      const oldKid = generateKey(dir, 'access');
      const oldRing = loadKeyRing(dir, 'access', false);
      const clock = new FixedClock(new Date());
      const applicant = await registerAndLogin(t.app);
      const oldToken = signToken(oldRing, settings(), clock, claimsFor(applicant.id), 600);
      fs.writeFileSync(`${dir}/access/ACTIVE`, generateKey(dir, 'access'));
      const rotated = { ...t.ctx.keys, access: loadKeyRing(dir, 'access', false) };
      assert.notEqual(rotated.access.active().kid, oldKid);
      const app2 = await makeTestApp();
      const ctx2 = { ...app2.ctx, keys: rotated };
      const rotatedApp = createApp({ ...ctx2, authenticate: createAuthenticator(ctx2) });
      await request(rotatedApp).get('/api/v1/auth/me').set('Authorization', `Bearer ${oldToken}`).expect(200);
      await app2.close();
    });
  });
});

describe('Rate limits shared by instances (RATE_LIMIT_STORE=database)', () => {
  it('when failed sign-ins are spread over two instances, then they count together; with memory counters they would not', async () => {
    const shared = () => makeTestApp({ database: 'rate-limits', config: testConfig({ RATE_LIMIT_STORE: 'database' }) });
    const [a, b] = await Promise.all([shared(), shared()]);
    const [m1, m2] = await Promise.all([makeTestApp({ database: 'rate-limits' }), makeTestApp({ database: 'rate-limits' })]);
    try {
      const idNumber = uniqueIdNumber();
      const fail = (app: TestApp) => request(app.app).post('/api/v1/auth/login').send({ idNumber, password: 'wrong guess' });
      for (let i = 0; i < 5; i += 1) {
        assert.equal((await fail(a)).status, 401);
        assert.equal((await fail(b)).status, 401);
      }
      assert.equal((await fail(a)).status, 429, 'the 11th failure, wherever it lands, is refused');
      assert.equal((await fail(b)).status, 429);
      assert.ok((await a.ctx.models.RateCounter.countDocuments()) > 0);

      for (let i = 0; i < 6; i += 1) {
        assert.equal((await fail(m1)).status, 401);
        assert.equal((await fail(m2)).status, 401);
      }
    } finally {
      await Promise.all([a, b, m1, m2].map((x) => x.close()));
    }
  });
});
