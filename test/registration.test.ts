import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import { idHash } from '../service/lib/personal';
import { LogNotifier } from '../service/notifications/notifier';
import { makeTestApp, register, registerAndLogin, registrationCode, uniqueIdNumber, uniquePhone, type TestApp } from './support/app';

/** Registration with a one-time code to the phone, and password reset by the same code (own app: its own address limits). */
describe('Registration and password reset by SMS code', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  const me = (auth: string) => request(t.app).get('/api/v1/auth/me').set('Authorization', auth);

    it('when the code is missing, wrong, used or expired, then 400 invalid_code in both languages and no account', async () => {
      const clock = new FixedClock(new Date('2026-03-02T02:00:00Z'));
      const timed = await makeTestApp({ clock });
      try {
        const before = await timed.ctx.models.Account.countDocuments();
        const phone = uniquePhone();
        const body = { idNumber: uniqueIdNumber(), name: '钱多', phone, password: 'secret-pass' };
        await request(timed.app).post('/api/v1/auth/register').send(body).expect(400);
        const never = await request(timed.app).post('/api/v1/auth/register').send({ ...body, code: '000000' }).expect(400);
        assert.equal(never.body.code, 'invalid_code', 'no code was ever sent to this phone');
        const code = await registrationCode(timed.app, phone);
        const wrong = await request(timed.app).post('/api/v1/auth/register').set('Accept-Language', 'en').send({ ...body, code: code === '111111' ? '222222' : '111111' }).expect(400);
        assert.equal(wrong.body.code, 'invalid_code');
        assert.match(wrong.body.message.zh, /验证码/);
        assert.match(wrong.body.detail, /code/);
        clock.advance(11 * 60_000);
        await request(timed.app).post('/api/v1/auth/register').send({ ...body, code }).expect(400);
        assert.equal(await timed.ctx.models.Account.countDocuments(), before, 'an expired code registers nobody');
        const fresh = await registrationCode(timed.app, phone);
        await request(timed.app).post('/api/v1/auth/register').send({ ...body, code: fresh }).expect(202);
        const again = await request(timed.app).post('/api/v1/auth/register').send({ ...body, idNumber: uniqueIdNumber(), code: fresh }).expect(400);
        assert.equal(again.body.code, 'invalid_code', 'a code is used once');
        assert.equal(await timed.ctx.models.Account.countDocuments(), before + 1);
      } finally {
        await timed.close();
      }
    });

    it('when a code is guessed five times wrong, then even the right code no longer works', async () => {
      const phone = uniquePhone();
      const code = await registrationCode(t.app, phone);
      const body = { idNumber: uniqueIdNumber(), name: '孙悟', phone, password: 'secret-pass' };
      const wrong = code === '999999' ? '888888' : '999999';
      for (let i = 0; i < 5; i += 1) await request(t.app).post('/api/v1/auth/register').send({ ...body, code: wrong }).expect(400);
      await request(t.app).post('/api/v1/auth/register').send({ ...body, code }).expect(400);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber: body.idNumber, password: body.password }).expect(401);
    });

    it('when codes are asked for too often, then 429 per number (a minute apart, five an hour) and per address', async () => {
      const clock = new FixedClock(new Date('2026-03-02T02:00:00Z'));
      const timed = await makeTestApp({ clock });
      try {
        const phone = uniquePhone();
        const ask = (p = phone) => request(timed.app).post('/api/v1/auth/phone-code').send({ purpose: 'register', phone: p });
        await ask().expect(202);
        const soon = await ask().expect(429);
        assert.equal(soon.body.code, 'rate_limited');
        assert.match(soon.body.message.zh, /每分钟/);
        for (let i = 0; i < 4; i += 1) {
          clock.advance(61_000);
          await ask().expect(202);
        }
        clock.advance(61_000);
        await ask().expect(429);
        assert.equal(timed.sms.to(phone).length, 5, 'five texts in the hour, no more');
        clock.advance(60 * 60_000);
        await ask().expect(202);
        // Per address: other numbers from the same address run into the address limit.
        let status = 202;
        for (let i = 0; i < 40 && status === 202; i += 1) status = (await ask(uniquePhone())).status;
        assert.equal(status, 429);
      } finally {
        await timed.close();
      }
    });

    it('when an ID number that already has an account registers again, then the same answer, no change, and the owner is told on the phone on record', async () => {
      const owner = await registerAndLogin(t.app, { password: 'owner-password' });
      const before = await t.ctx.models.Account.findOne({ idHash: idHash(t.ctx.keys.idHash, owner.idNumber) }).lean();
      const strangerPhone = uniquePhone();
      const taken = await register(t.app, { idNumber: owner.idNumber.toLowerCase(), name: '冒名', phone: strangerPhone, password: 'stranger-pass' });
      const free = await register(t.app, { idNumber: uniqueIdNumber(), name: '新人', password: 'newcomer-pass' });
      assert.equal(taken.status, free.status);
      assert.deepEqual(taken.body, free.body, 'a stranger cannot tell a registered ID number from a free one');
      const after = await t.ctx.models.Account.findOne({ idHash: idHash(t.ctx.keys.idHash, owner.idNumber) }).lean();
      assert.deepEqual(after, before, 'the existing account is untouched');
      await request(t.app).post('/api/v1/auth/login').send({ idNumber: owner.idNumber, password: 'stranger-pass' }).expect(401);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber: owner.idNumber, password: 'owner-password' }).expect(200);
      const deadline = Date.now() + 2000;
      while (!t.sms.to(owner.phone).some((m) => /尝试用您的身份证号码注册/.test(m.text)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(t.sms.to(owner.phone).some((m) => /尝试用您的身份证号码注册/.test(m.text)), 'the owner hears of it');
      assert.equal(t.sms.to(strangerPhone).length, 1, 'the stranger got only the code they asked for');
    });

    it('when a taken and a free ID number register, then both do the same work (one password hash at the same cost) and neither waits for a message', async () => {
      const owner = await registerAndLogin(t.app);
      // Every scrypt run during one registration request, by its cost parameter N.
      const hashesDuring = async (idNumber: string): Promise<number[]> => {
        const phone = uniquePhone();
        const code = await registrationCode(t.app, phone);
        const runs: number[] = [];
        const real = crypto.scrypt;
        crypto.scrypt = ((...args: Parameters<typeof real>) => {
          runs.push((args[3] as crypto.ScryptOptions).N ?? 0);
          return (real as (...a: unknown[]) => void)(...args);
        }) as typeof real;
        try {
          const r = await request(t.app).post('/api/v1/auth/register').send({ idNumber, name: '同工', phone, password: 'same-work-pass', code });
          assert.equal(r.status, 202, JSON.stringify(r.body));
        } finally {
          crypto.scrypt = real;
        }
        return runs;
      };
      // The message to the owner's phone never finishes: the answer must not wait for it.
      const notifier = t.ctx.notifier;
      t.ctx.notifier = { deliver: (m) => (m.recipient.phone === owner.phone ? new Promise<void>(() => undefined) : notifier.deliver(m)) };
      try {
        const taken = await hashesDuring(owner.idNumber);
        const free = await hashesDuring(uniqueIdNumber());
        assert.deepEqual(free, [2 ** t.ctx.config.passwordCostLog2], 'a free ID number: its password hashed once');
        assert.deepEqual(taken, free, 'a taken ID number: the same hash, at the same cost, and nothing more before the answer');
      } finally {
        t.ctx.notifier = notifier;
      }
    });

    it('when a resident forgets the password, then a code to the phone on record sets a new one and ends every session; an unknown ID number gets the same answer', async () => {
      const resident = await registerAndLogin(t.app, { password: 'forgotten-pass' });
      const ask = (idNumber: string) => request(t.app).post('/api/v1/auth/phone-code').send({ purpose: 'reset', idNumber });
      const known = await ask(resident.idNumber).expect(202);
      const unknown = await ask(uniqueIdNumber()).expect(202);
      assert.deepEqual(known.body, unknown.body);
      const code = await t.sms.lastCode(resident.phone);
      const before = await t.ctx.models.Account.findById(resident.id).lean();
      const wrong = await request(t.app).post('/api/v1/auth/password-reset').send({ idNumber: resident.idNumber, code: code === '123456' ? '654321' : '123456', password: 'brand-new-pass' }).expect(400);
      assert.equal(wrong.body.code, 'invalid_code');
      assert.deepEqual(await t.ctx.models.Account.findById(resident.id).lean(), before, 'a wrong code changes nothing');
      await request(t.app).post('/api/v1/auth/password-reset').send({ idNumber: resident.idNumber, code, password: 'brand-new-pass' }).expect(204);
      await me(resident.auth).expect(401);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber: resident.idNumber, password: 'forgotten-pass' }).expect(401);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber: resident.idNumber, password: 'brand-new-pass' }).expect(200);
      await request(t.app).post('/api/v1/auth/password-reset').send({ idNumber: resident.idNumber, code, password: 'third-pass-x' }).expect(400);
    });

    it('when development writes a code text to the log, then the code is there for the developer and the phone number is masked', async () => {
      const lines: { obj: Record<string, unknown>; msg: string }[] = [];
      const notifier = new LogNotifier({ info: (obj: Record<string, unknown>, msg?: string) => void lines.push({ obj, msg: msg ?? '' }) } as never);
      await notifier.deliver({ key: 'code:1', recipient: { phone: '13912345678' }, text: '【计生证件办理】您的注册验证码：123456，10 分钟内有效。' });
      assert.match(lines[0]!.msg, /验证码：123456/);
      assert.deepEqual(lines[0]!.obj.recipient, { phone: '139****5678' });
      assert.ok(!JSON.stringify(lines).includes('13912345678'));
    });

});
