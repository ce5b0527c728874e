import assert from 'node:assert/strict';
import request from 'supertest';
import { formOf } from '../service/applications/applications.service';
import { MAX_COMPLAINTS_PER_APPLICATION } from '../service/complaints/complaints.service';
import { trustedFilter } from '../service/lib/database';
import { SECTIONS } from '../service/web/forms';
import { asParty, birthServiceForm, filesUnder, honourForm, migrantForm, personId, readyBirthService, rebirthPermitForm, terminalFiling } from './support/forms';
import { sealJson } from '../service/lib/personal';
import { pdfText, POPPLER } from './support/pdf';
import { Visitor } from './support/visitor';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, uniquePhone, type TestApp } from './support/app';

/** The page's two steps: send the code to the phone, then register with it (read from the fake SMS gateway). */
async function pageRegistration(t: TestApp, v: Visitor, fields: { name: string; idNumber: string }) {
  const phone = uniquePhone();
  await v.get('/register');
  const sent = await v.post('/register', { ...fields, phone, action: 'send-code' });
  assert.equal(sent.status, 200, sent.text);
  assert.match(sent.text, /验证码已发送/);
  assert.ok(!sent.text.includes(await t.sms.lastCode(phone)), 'the code is never shown on the page');
  return { ...fields, phone, code: await t.sms.lastCode(phone), password: 'correct horse', action: 'register' };
}

async function signedIn(t: TestApp, name = '李明', sex: 'male' | 'female' = 'male') {
  const v = new Visitor(t.app);
  const idNumber = uniqueIdNumber(sex);
  const form = await pageRegistration(t, v, { name, idNumber });
  const res = await v.post('/register', form);
  assert.equal(res.status, 303, res.text);
  return { v, idNumber, phone: form.phone };
}

describe('pages: routes', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  describe('public pages', () => {
    it('when the home page is opened, then it lists the four service guides in Chinese, under the strict CSP, not stored', async () => {
      const v = new Visitor(t.app);
      const res = await v.get('/');
      assert.equal(res.status, 200);
      assert.match(res.headers['content-type']!, /text\/html/);
      assert.match(res.text, /<html lang="zh-CN">/);
      for (const name of ['生育服务证', '再生育证', '独生子女父母光荣证', '流动人口婚育证明']) assert.ok(res.text.includes(name), name);
      assert.equal(res.headers['cache-control'], 'no-store');
      const csp = String(res.headers['content-security-policy']);
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline/);
      assert.doesNotMatch(res.text, /<script>|style="/);
    });

    it('when the browser prefers English, or the switch is used, then the page is in English; the switch never redirects off-site', async () => {
      const en = await new Visitor(t.app, 'en-GB,en;q=0.9').get('/');
      assert.match(en.text, /<html lang="en">/);
      assert.ok(en.text.includes('Birth service certificate'));
      const v = new Visitor(t.app);
      const sw = await v.get('/lang/en?back=%2Fquery');
      assert.equal(sw.status, 303);
      assert.equal(sw.headers.location, '/query');
      assert.match((await v.get('/query')).text, /Case query/);
      assert.equal((await v.get('/lang/zh?back=%2F%2Fevil.example')).headers.location, '/');
    });

    it('when a service guide is opened, then it shows conditions, documents, steps, time limits, fee and legal basis from the catalogue', async () => {
      const res = await new Visitor(t.app).get('/guide/rebirth-permit');
      assert.equal(res.status, 200);
      for (const text of ['申请条件', '申请材料', '办理流程', '办理时限', '不收费', '设定依据', '结婚证', '《湖南省人口与计划生育条例》']) assert.ok(res.text.includes(text), text);
    });

    it('when a page does not exist, then a person gets a friendly 404 page and a program still gets problem+json', async () => {
      const page = await new Visitor(t.app).get('/no-such-page');
      assert.equal(page.status, 404);
      assert.match(page.text, /找不到这个页面/);
      assert.equal((await new Visitor(t.app).get('/guide/no-such-type')).status, 404);
      const api = await request(t.app).get('/no-such-page').set('Accept', 'application/json');
      assert.equal(api.status, 404);
      assert.match(api.headers['content-type']!, /problem\+json/);
    });

    /** The hidden answers a pre-check page carries to the next (what a browser would post back). */
    const carried = (html: string): Record<string, string> => {
      const out: Record<string, string> = {};
      for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
        if (m[1] !== '_csrf') out[m[1]!] = m[2]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
      }
      return out;
    };
    /** Posts one pre-check page: the answers carried so far plus this page's fields. */
    const answer = (v: Visitor, type: string, fields: Record<string, string>) => v.post(`/precheck/${type}`, { ...carried(v.html), ...fields });
    const person = (who: string, name: string, idNumber: string) => ({ [`${who}.name`]: name, [`${who}.idNumber`]: idNumber, [`${who}.residentType`]: 'rural' });

    it('when the eligibility pre-check is answered page by page, then the answers travel in the form and the result shows each ground met or not, nothing stored', async () => {
      const before = await t.ctx.models.Application.countDocuments();
      const v = new Visitor(t.app);
      const first = await v.get('/precheck/birth-service');
      assert.equal(first.status, 200);
      assert.match(first.text, /第 1 步，共 5 步/);
      assert.match(first.text, /<h1>居住地<\/h1>/);
      assert.doesNotMatch(first.text, /husband\.idNumber/, 'one small group per page');
      assert.equal((await v.post('/precheck/birth-service', { step: '0', 'residence.divisionCode': '430725101202' }, false)).status, 403);
      const blank = await answer(v, 'birth-service', { step: '0' });
      assert.equal(blank.status, 400);
      assert.match(blank.text, /class="error-summary"/);
      assert.match(blank.text, /href="#f-residence-divisionCode"/);
      const husband = await answer(v, 'birth-service', { step: '0', 'residence.divisionCode': '430725101202' });
      assert.equal(husband.status, 200);
      assert.match(husband.text, /第 2 步，共 5 步/);
      assert.match(husband.text, /<input type="hidden" name="residence.divisionCode" value="430725101202">/);
      const wrongId = await answer(v, 'birth-service', { step: '1', ...person('husband', '张伟', '430725198001010010') });
      assert.equal(wrongId.status, 400);
      assert.match(wrongId.text, /href="#f-husband-idNumber"/);
      assert.match(wrongId.text, /校验位/);
      await answer(v, 'birth-service', { step: '1', ...person('husband', '张伟', personId('male', '1990-05-01')) });
      const back = await answer(v, 'birth-service', { step: '2', go: 'back' });
      assert.match(back.text, /<h1>男方信息<\/h1>/);
      assert.ok(back.text.includes('value="张伟"'), 'an earlier answer is shown again');
      await answer(v, 'birth-service', { step: '1' , ...person('husband', '张伟', personId('male', '1990-05-01')) });
      await answer(v, 'birth-service', { step: '2', ...person('wife', '李娜', personId('female', '1992-01-01')) });
      const kids = await answer(v, 'birth-service', { step: '3', 'marriage.date': '2015-06-01', 'marriage.kind': 'first' });
      assert.match(kids.text, /第 1 个子女/);
      const added = await answer(v, 'birth-service', { step: '4', go: 'add', 'child.sex': 'male', 'child.birthDate': '2018-03-03', 'child.alive': 'true', 'child.origin': 'joint' });
      assert.equal(added.status, 200);
      assert.match(added.text, /第 2 个子女/);
      const result = await answer(v, 'birth-service', { step: '4', go: 'next' });
      assert.equal(result.status, 200, result.text);
      assert.match(result.text, /符合申请条件/);
      assert.match(result.text, /✓ 满足/);
      assert.match(result.text, /结婚证/);
      assert.ok(result.text.includes('张伟'), 'the answers are listed');
      const change = await answer(v, 'birth-service', { goto: '1' });
      assert.match(change.text, /<h1>男方信息<\/h1>/);
      assert.equal(await t.ctx.models.Application.countDocuments(), before);
    });

    it('when the pre-check answers meet no ground, then the result says so ground by ground; a child born in the future is that page’s problem', async () => {
      const v = new Visitor(t.app);
      await v.get('/precheck/birth-service');
      await answer(v, 'birth-service', { step: '0', 'residence.divisionCode': '430725101202' });
      await answer(v, 'birth-service', { step: '1', ...person('husband', '张伟', personId('male', '1980-05-01')) });
      await answer(v, 'birth-service', { step: '2', ...person('wife', '李娜', personId('female', '1982-01-01')) });
      await answer(v, 'birth-service', { step: '3', 'marriage.date': '2005-06-01', 'marriage.kind': 'first' });
      const future = await answer(v, 'birth-service', { step: '4', go: 'add', 'child.sex': 'male', 'child.birthDate': '2999-01-01', 'child.alive': 'true', 'child.origin': 'joint' });
      assert.equal(future.status, 400);
      assert.match(future.text, /href="#f-child-birthDate"/);
      for (const birth of ['2008-01-01', '2010-01-01', '2012-01-01']) {
        const r = await answer(v, 'birth-service', { step: '4', go: 'add', 'child.sex': 'female', 'child.birthDate': birth, 'child.alive': 'true', 'child.origin': 'joint' });
        assert.equal(r.status, 200, r.text);
      }
      const result = await answer(v, 'birth-service', { step: '4', go: 'next' });
      assert.equal(result.status, 200);
      assert.match(result.text, /暂不符合申请条件/);
      assert.match(result.text, /✗ 不满足/);
      assert.doesNotMatch(result.text, /href="\/apply\/start\/birth-service"/);
      const english = new Visitor(t.app, 'en');
      assert.match((await english.get('/precheck/rebirth-permit')).text, /Step 1 of 6/);
    });

    it('when a case is queried by number and ID number, then its status shows; a wrong pair gets the same answer as an unknown number', async () => {
      const account = await registerAndLogin(t.app);
      const created = await readyBirthService(t.app, account.auth);
      const submitted = await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', account.auth).send({}).expect(200);
      const v = new Visitor(t.app);
      await v.get('/query');
      const ok = await v.post('/query', { number: submitted.body.number, idNumber: account.idNumber });
      assert.equal(ok.status, 200);
      assert.match(ok.text, /待审核/);
      assert.match(ok.text, /李\*/);
      assert.doesNotMatch(ok.text, new RegExp(account.idNumber));
      const wrong = await v.post('/query', { number: submitted.body.number, idNumber: uniqueIdNumber() });
      assert.equal(wrong.status, 404);
      assert.match(wrong.text, /没有找到/);
      const byCode = await v.post('/query', { number: submitted.body.number, accessCode: String(submitted.body.accessCode).toLowerCase() });
      assert.equal(byCode.status, 200);
      assert.match(byCode.text, /待审核/);
      const neither = await v.post('/query', { number: submitted.body.number });
      assert.equal(neither.status, 400);
      assert.match(neither.text, /href="#f-accessCode"/);
      const forged = await v.post('/query', { number: submitted.body.number, idNumber: account.idNumber }, false);
      assert.equal(forged.status, 403);
    });

    it('when the QR URL is opened by a browser, then a verdict page shows; a client asking for JSON gets JSON', async () => {
      const v = new Visitor(t.app);
      const page = await v.get('/api/v1/verify/not.a.token');
      assert.equal(page.status, 200);
      assert.match(page.headers['content-type']!, /text\/html/);
      assert.match(page.text, /无法核验/);
      assert.equal(page.headers['set-cookie'], undefined);
      const json = await request(t.app).get('/api/v1/verify/not.a.token').set('Accept', 'application/json').expect(200);
      assert.equal(json.body.status, 'invalid');
      const bare = await request(t.app).get('/api/v1/verify/not.a.token').expect(200);
      assert.equal(bare.body.status, 'invalid');
      assert.match((await v.get('/verify?code=430725-2026-BS-999999')).text, /无法核验/);
    });

    it('every public page weighs under 100 kB with its stylesheet and script', async () => {
      const v = new Visitor(t.app);
      const css = await request(t.app).get('/assets/site.css');
      const js = await request(t.app).get('/assets/site.js');
      assert.equal(css.status, 200);
      assert.equal(js.status, 200);
      for (const path of ['/', '/guide/rebirth-permit', '/precheck', '/precheck/rebirth-permit', '/query', '/verify', '/sign-in', '/register', '/reset-password', '/kiosk']) {
        const page = await v.get(path);
        const total = Buffer.byteLength(page.text) + Buffer.byteLength(css.text) + Buffer.byteLength(js.text);
        assert.ok(total < 100 * 1024, `${path}: ${total} bytes`);
      }
    });
  });

  describe('resident accounts and sessions', () => {
    it('when a resident registers, then a __Host- session cookie (Secure, HttpOnly, SameSite=Lax) signs them in and their name is shown escaped', async () => {
      const v = new Visitor(t.app);
      const idNumber = uniqueIdNumber();
      const fields = await pageRegistration(t, v, { name: '<script>alert(1)</script>', idNumber });
      const res = await request(t.app)
        .post('/register')
        .type('form')
        .set('Cookie', [...v.cookies].map(([k, val]) => `${k}=${val}`).join('; '))
        .send(new URLSearchParams({ _csrf: v.csrf, ...fields }).toString());
      assert.equal(res.status, 303);
      const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('__Host-fpc-session='))!;
      assert.match(cookie, /; Path=\/; Secure; HttpOnly; SameSite=Lax/);
      v.cookies.set('__Host-fpc-session', cookie.split(';')[0]!.split('=')[1]!);
      const my = await v.get('/my');
      assert.equal(my.status, 200);
      assert.ok(my.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
      assert.ok(!my.text.includes('<script>alert(1)'));
      assert.equal(my.headers['cache-control'], 'no-store');
      assert.equal(await t.ctx.models.WebSession.countDocuments({ _id: v.cookies.get('__Host-fpc-session') }), 0, 'the cookie value is not the stored key');
    });

    it('when a form is posted without its CSRF token, then it is refused with a page and nothing changes', async () => {
      const v = new Visitor(t.app);
      await v.get('/register');
      const accounts = await t.ctx.models.Account.countDocuments();
      const res = await v.post('/register', { name: '王五', idNumber: uniqueIdNumber(), phone: '13800138000', password: 'correct horse' }, false);
      assert.equal(res.status, 403);
      assert.match(res.text, /页面已过期或来源不明/);
      assert.equal(await t.ctx.models.Account.countDocuments(), accounts);
      const forged = await v.post('/sign-in', { idNumber: uniqueIdNumber(), password: 'x', _csrf: 'forged-token-forged-token-forged-token-12' }, false);
      assert.equal(forged.status, 403);
    });

    it('when registration is refused, then an error summary links to each field with the API’s bilingual messages', async () => {
      const v = new Visitor(t.app);
      await v.get('/register');
      const res = await v.post('/register', { name: '', idNumber: '430725198001010010', phone: '123', password: 'short' });
      assert.equal(res.status, 400);
      assert.match(res.text, /href="#f-idNumber"/);
      assert.match(res.text, /href="#f-phone"/);
      assert.match(res.text, /校验位/);
      assert.match(res.text, /aria-invalid="true"/);
    });

    it('when a resident signs in with a wrong password, then the page says so; with the right one, then my cases opens', async () => {
      const { idNumber } = await signedIn(t);
      const v = new Visitor(t.app);
      await v.get('/sign-in');
      const wrong = await v.post('/sign-in', { idNumber, password: 'wrong password' });
      assert.equal(wrong.status, 401);
      assert.match(wrong.text, /账号或密码不正确/);
      const ok = await v.post('/sign-in', { idNumber, password: 'correct horse', next: '/my' });
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.location, '/my');
      assert.equal((await v.get('/my')).status, 200);
    });

    it('when a resident signs out, then the session is gone at once and the browser is told to clear the site', async () => {
      const { v } = await signedIn(t);
      await v.get('/my');
      const raw = v.cookies.get('__Host-fpc-session')!;
      const res = await v.post('/sign-out', {});
      assert.equal(res.status, 303);
      assert.match(String(res.headers['clear-site-data']), /"cache", "cookies", "storage"/);
      v.cookies.set('__Host-fpc-session', raw);
      const after = await v.get('/my');
      assert.equal(after.status, 303);
      assert.match(after.headers.location!, /^\/sign-in/);
    });

    it('when the resident signs out everywhere through the API, then the page session ends too', async () => {
      const { v, idNumber } = await signedIn(t);
      assert.equal((await v.get('/my')).status, 200);
      const login = await request(t.app).post('/api/v1/auth/login').send({ idNumber, password: 'correct horse' }).expect(200);
      await new Promise((r) => setTimeout(r, 5));
      await request(t.app).post('/api/v1/auth/logout').set('Authorization', `Bearer ${login.body.accessToken}`).send({ everywhere: true }).expect(204);
      const res = await v.get('/my');
      assert.equal(res.status, 303);
      assert.match(res.headers.location!, /^\/sign-in/);
    });

    it('when a resident forgets the password, then the reset page sends a code, refuses a wrong one with an error summary, and the right one sets the password, ends old sessions and signs in', async () => {
      const { v: old, idNumber, phone } = await signedIn(t);
      const v = new Visitor(t.app);
      const signIn = await v.get('/sign-in');
      assert.match(signIn.text, /href="\/reset-password"/);
      const form = await v.get('/reset-password');
      assert.equal(form.status, 200);
      assert.equal((await v.post('/reset-password', { idNumber, action: 'send-code' }, false)).status, 403);
      const blank = await v.post('/reset-password', { idNumber: '', action: 'send-code' });
      assert.equal(blank.status, 400);
      assert.match(blank.text, /href="#f-idNumber"/);
      const sentBefore = t.sms.to(phone).length;
      const sent = await v.post('/reset-password', { idNumber, action: 'send-code' });
      assert.equal(sent.status, 200);
      // An ID number without an account gets the same page (the code goes nowhere).
      const stranger = new Visitor(t.app);
      await stranger.get('/reset-password');
      const unknown = await stranger.post('/reset-password', { idNumber: uniqueIdNumber(), action: 'send-code' });
      assert.equal(unknown.status, 200);
      const strip = (html: string) => html.replace(/value="[^"]*"/g, '');
      assert.equal(strip(unknown.text), strip(sent.text));
      for (let i = 0; i < 200 && t.sms.to(phone).length === sentBefore; i += 1) await new Promise((r) => setTimeout(r, 10));
      const code = await t.sms.lastCode(phone);
      assert.ok(!sent.text.includes(code), 'the code is never shown on the page');
      const hashBefore = JSON.stringify(await t.ctx.models.Account.find(trustedFilter({})).select('passwordHash').lean());
      const wrong = await v.post('/reset-password', { idNumber, code: code === '123456' ? '654321' : '123456', password: 'brand-new-pass', action: 'reset' });
      assert.equal(wrong.status, 400);
      assert.match(wrong.text, /class="error-summary"/);
      assert.match(wrong.text, /href="#f-code"/);
      assert.match(wrong.text, /验证码/);
      assert.equal(JSON.stringify(await t.ctx.models.Account.find(trustedFilter({})).select('passwordHash').lean()), hashBefore, 'a wrong code changes nothing');
      const short = await v.post('/reset-password', { idNumber, code, password: 'short', action: 'reset' });
      assert.equal(short.status, 400);
      assert.match(short.text, /href="#f-password"/);
      const done = await v.post('/reset-password', { idNumber, code, password: 'brand-new-pass', action: 'reset' });
      assert.equal(done.status, 303, done.text);
      assert.equal(done.headers.location, '/my');
      assert.equal((await v.get('/my')).status, 200);
      // The session begun before the reset has ended (the service ends every session of the account).
      const oldSession = await old.get('/my');
      assert.equal(oldSession.status, 303);
      assert.match(oldSession.headers.location!, /^\/sign-in/);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber, password: 'correct horse' }).expect(401);
      await request(t.app).post('/api/v1/auth/login').send({ idNumber, password: 'brand-new-pass' }).expect(200);
      // Used once: the same code again is refused.
      const again = new Visitor(t.app);
      await again.get('/reset-password');
      assert.equal((await again.post('/reset-password', { idNumber, code, password: 'third-pass-x', action: 'reset' })).status, 400);
    });

    it('when a session is idle past the limit, then it no longer opens personal pages', async () => {
      const { v } = await signedIn(t);
      const idle = t.ctx.config.webSessionIdleSeconds * 1000 + 1000;
      await t.ctx.models.WebSession.updateMany({}, { $set: { lastSeenAt: new Date(Date.now() - idle) } });
      const res = await v.get('/my');
      assert.equal(res.status, 303);
      assert.match(res.headers.location!, /^\/sign-in/);
    });
  });

  describe('the application journey', () => {
    it('when the resident reads English, then the journey pages are in English', async () => {
      const { v } = await signedIn(t);
      await v.get('/lang/en?back=%2F');
      await v.get('/apply/start/birth-service');
      const id = (await v.post('/apply/start/birth-service', {})).headers.location!.split('/').pop()!;
      const tasks = await v.get(`/apply/${id}`);
      assert.match(tasks.text, /<html lang="en">/);
      for (const text of ['Where you live', 'Husband', 'Documents', 'Check and submit', 'Not started']) assert.ok(tasks.text.includes(text), text);
      assert.doesNotMatch(tasks.text.replace(/<a class="brand"[^<]*<\/a>|lang="zh-CN"[^>]*>中文/g, ''), /未开始|上传材料|核对并提交/);
      const bad = await v.post(`/apply/${id}/section/husband`, { 'husband.idNumber': '430725198001010010' });
      assert.match(bad.text, /There is a problem/);
      assert.match(bad.text, /Husband: resident ID number/);
    });

    it('when a resident answers a page wrongly, then the page shows the field problem and the draft is unchanged', async () => {
      const { v } = await signedIn(t);
      await v.get('/apply/start/birth-service');
      const start = await v.post('/apply/start/birth-service', {});
      assert.equal(start.status, 303);
      const id = start.headers.location!.split('/').pop()!;
      await v.get(`/apply/${id}/section/husband`);
      const before = await t.ctx.models.Application.findById(id).lean();
      const bad = await v.post(`/apply/${id}/section/husband`, { 'husband.name': '<b>张</b>', 'husband.idNumber': '430725198001010010', 'husband.residentType': 'rural' });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /href="#f-husband-idNumber"/);
      assert.ok(bad.text.includes('value="&lt;b&gt;张&lt;/b&gt;"'));
      const after = await t.ctx.models.Application.findById(id).lean();
      assert.equal(after!.formSealed, before!.formSealed);
      await v.get(`/apply/${id}/section/residence`);
      const elsewhere = await v.post(`/apply/${id}/section/residence`, { 'residence.divisionCode': '110105001001' });
      assert.equal(elsewhere.status, 400);
      assert.match(elsewhere.text, /href="#f-residence-divisionCode"/);
      assert.match(elsewhere.text, /不在桃源县/);
      const good = await v.post(`/apply/${id}/section/husband`, { 'husband.name': '张伟', 'husband.idNumber': personId('male', '1990-05-01'), 'husband.residentType': 'rural' });
      assert.equal(good.status, 303);
      assert.notEqual((await t.ctx.models.Application.findById(id).lean())!.formSealed, before!.formSealed);
    });

    it('when documents are missing at submission, then the check page lists them and the draft stays a draft', async () => {
      const { v } = await signedIn(t);
      await v.get('/apply/start/birth-service');
      const id = (await v.post('/apply/start/birth-service', {})).headers.location!.split('/').pop()!;
      const form = birthServiceForm();
      await t.ctx.models.Application.updateOne({ _id: id }, { $set: { formSealed: sealJson(t.ctx.keys.dataKey, form) } });
      await v.get(`/apply/${id}/check`);
      const res = await v.post(`/apply/${id}/submit`, {});
      assert.equal(res.status, 422);
      assert.match(res.text, /缺少材料/);
      assert.match(res.text, /结婚证/);
      assert.equal((await t.ctx.models.Application.findById(id).lean())!.status, 'draft');
    });

    it('when a document is uploaded through the page, then it is stored; without the CSRF token, then nothing is kept', async () => {
      const { v } = await signedIn(t);
      await v.get('/apply/start/birth-service');
      const id = (await v.post('/apply/start/birth-service', {})).headers.location!.split('/').pop()!;
      const page = await v.get(`/apply/${id}/documents`);
      const filesBefore = filesUnder(t.ctx.config.uploadsDir);
      assert.match(page.text, /accept="image\/jpeg,image\/png,application\/pdf" capture="environment"/);
      const refused = await v.upload(`/apply/${id}/documents`, 'photo', false);
      assert.equal(refused.status, 403);
      assert.equal((await t.ctx.models.Application.findById(id).lean())!.documents.length, 0);
      assert.deepEqual(filesUnder(t.ctx.config.uploadsDir), filesBefore);
      await v.get(`/apply/${id}/documents`);
      const ok = await v.upload(`/apply/${id}/documents`, 'photo');
      assert.equal(ok.status, 303);
      const app = await t.ctx.models.Application.findById(id).lean();
      assert.equal(app!.documents.length, 1);
      await v.get(`/apply/${id}/documents`);
      const removed = await v.post(`/apply/${id}/documents/${app!.documents[0]!.id}/remove`, {});
      assert.equal(removed.status, 303);
      assert.equal((await t.ctx.models.Application.findById(id).lean())!.documents.length, 0);
    });

    it('when a kiosk filed for a resident, then once submitted the case is in their cases with its timeline; before submission it is not', async () => {
      const { v, idNumber } = await signedIn(t, '李秀英', 'female');
      const terminal = await terminalLogin(t);
      const filed = await readyBirthService(t.app, terminal.auth, birthServiceForm(), terminalFiling(idNumber));
      assert.doesNotMatch((await v.get('/my')).text, new RegExp(filed.id));
      assert.equal((await v.get(`/my/${filed.id}`)).status, 404);
      const submitted = await request(t.app).post(`/api/v1/applications/${filed.id}/submit`).set('Authorization', terminal.auth).send({}).expect(200);
      const list = await v.get('/my');
      assert.match(list.text, new RegExp(`href="/my/${filed.id}"`));
      assert.ok(list.text.includes(submitted.body.number));
      assert.match(list.text, /终端代办/);
      const view = await v.get(`/my/${filed.id}`);
      assert.equal(view.status, 200);
      assert.match(view.text, /提交申请/);
      assert.match(view.text, /待审核/);
      // Another resident still gets a 404 page.
      assert.equal((await (await signedIn(t)).v.get(`/my/${filed.id}`)).status, 404);
    });

    it("when a resident opens another resident's case, then it is a 404 page", async () => {
      const owner = await registerAndLogin(t.app);
      const theirs = await readyBirthService(t.app, owner.auth);
      const { v } = await signedIn(t);
      for (const path of [`/my/${theirs.id}`, `/apply/${theirs.id}`, `/apply/${theirs.id}/documents`, `/my/${theirs.id}/withdraw`]) {
        const res = await v.get(path);
        assert.equal(res.status, 404, path);
        assert.match(res.text, /找不到这个页面|未找到/);
      }
      await v.get('/my');
      const post = await v.post(`/my/${theirs.id}/withdraw`, {});
      assert.equal(post.status, 404);
      assert.equal((await t.ctx.models.Application.findById(theirs.id).lean())!.status, 'draft');
    });

    /** A resident signed in on the pages, with a birth-service case of theirs submitted through the API. */
    async function submittedCase() {
      const { v, idNumber } = await signedIn(t);
      const login = await request(t.app).post('/api/v1/auth/login').send({ idNumber, password: 'correct horse' }).expect(200);
      const auth = `Bearer ${login.body.accessToken}`;
      const created = await readyBirthService(t.app, auth, asParty('birth-service', birthServiceForm(), idNumber));
      await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', auth).send({}).expect(200);
      return { v, auth, created };
    }

    /** The same, approved by an officer. */
    async function approvedCase() {
      const { v, auth, created } = await submittedCase();
      const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
      await request(t.app).post(`/api/v1/applications/${created.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
      const approved = await request(t.app).post(`/api/v1/applications/${created.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
      return { v, auth, id: created.id as string, serial: approved.body.certificateSerial as string };
    }

    it('when a resident withdraws and complains, then the case page shows the timeline and the complaint, escaped', async () => {
      const { v, created } = await submittedCase();
      const page = await v.get(`/my/${created.id}`);
      assert.equal(page.status, 200);
      assert.match(page.text, /提交申请/);
      const complained = await v.post(`/my/${created.id}/complaint`, { text: '<img src=x onerror=alert(1)> 太慢' });
      assert.equal(complained.status, 303);
      const shown = await v.get(`/my/${created.id}`);
      assert.ok(shown.text.includes('&lt;img src=x onerror=alert(1)&gt; 太慢'));
      assert.equal(await t.ctx.models.Complaint.countDocuments({ applicationId: created.id }), 1);
      for (let i = 2; i <= MAX_COMPLAINTS_PER_APPLICATION; i += 1) assert.equal((await v.post(`/my/${created.id}/complaint`, { text: `第 ${i} 次投诉` })).status, 303);
      const tooMany = await v.post(`/my/${created.id}/complaint`, { text: '还是太慢' });
      assert.equal(tooMany.status, 429);
      assert.match(tooMany.text, /class="error-summary"/);
      assert.match(tooMany.text, /href="#f-text"/);
      assert.match(tooMany.text, /最多可投诉/);
      assert.equal(await t.ctx.models.Complaint.countDocuments({ applicationId: created.id }), MAX_COMPLAINTS_PER_APPLICATION);
      await v.get(`/my/${created.id}`);
      await v.get(`/my/${created.id}/withdraw`);
      const withdrawn = await v.post(`/my/${created.id}/withdraw`, { reason: '不办了' });
      assert.equal(withdrawn.status, 303);
      assert.equal((await t.ctx.models.Application.findById(created.id).lean())!.status, 'withdrawn');
      assert.match((await v.get(`/my/${created.id}`)).text, /已撤回/);
    });

    it('when a case has ended, then the resident rates it once from the case page; bad input and a second rating get an error summary', async () => {
      const { v, id } = await approvedCase();
      const other = await signedIn(t);
      assert.equal((await other.v.get(`/my/${id}/rating`)).status, 404);
      const page = await v.get(`/my/${id}`);
      assert.match(page.text, new RegExp(`href="/my/${id}/rating"`));
      const form = await v.get(`/my/${id}/rating`);
      assert.equal(form.status, 200);
      assert.match(form.text, /非常满意/);
      assert.equal((await v.post(`/my/${id}/rating`, { score: '5' }, false)).status, 403);
      const none = await v.post(`/my/${id}/rating`, { comment: 'x' });
      assert.equal(none.status, 400);
      assert.match(none.text, /href="#f-score"/);
      assert.match(none.text, /请选择满意程度/);
      const outOfRange = await v.post(`/my/${id}/rating`, { score: '9' });
      assert.equal(outOfRange.status, 400);
      assert.match(outOfRange.text, /class="error-summary"/);
      assert.equal(await t.ctx.models.Rating.countDocuments({ applicationId: id }), 0, 'nothing stored for bad input');
      const rated = await v.post(`/my/${id}/rating`, { score: '2', comment: '<b>等了太久</b>' });
      assert.equal(rated.status, 303, rated.text);
      const stored = await t.ctx.models.Rating.findOne({ applicationId: id }).lean();
      assert.equal(stored!.score, 2);
      assert.equal(stored!.channel, 'online');
      assert.ok(stored!.followUp, 'a bad rating opens a follow-up');
      const shown = await v.get(`/my/${id}`);
      assert.match(shown.text, /您的评价/);
      assert.ok(shown.text.includes('&lt;b&gt;等了太久&lt;/b&gt;'));
      assert.doesNotMatch(shown.text, new RegExp(`href="/my/${id}/rating"`));
      assert.equal((await v.get(`/my/${id}/rating`)).status, 303);
      const twice = await v.post(`/my/${id}/rating`, { score: '5' });
      assert.equal(twice.status, 409);
      assert.match(twice.text, /每件只能评价一次/);
      assert.equal(await t.ctx.models.Rating.countDocuments({ applicationId: id }), 1);
      const english = new Visitor(t.app, 'en');
      english.cookies = v.cookies;
      await english.get(`/my/${id}`);
      assert.match((await english.post(`/my/${id}/rating`, { score: '5' })).text, /rated once/);
    });

    it('when a case has not ended, then it cannot be rated and the page says why', async () => {
      const { v, created } = await submittedCase();
      const page = await v.get(`/my/${created.id}`);
      assert.doesNotMatch(page.text, /\/rating"/);
      assert.equal((await v.get(`/my/${created.id}/rating`)).status, 303);
      const early = await v.post(`/my/${created.id}/rating`, { score: '4' });
      assert.equal(early.status, 409);
      assert.match(early.text, /办结后才能评价/);
      assert.equal(await t.ctx.models.Rating.countDocuments({ applicationId: created.id }), 0);
    });

    it('when a certificate is issued, then my certificates lists it, opens the printable certificate and downloads the signed PDF', async () => {
      const { v, auth, serial } = await approvedCase();
      const list = await v.get('/my/certificates');
      assert.ok(list.text.includes(serial));
      const print = await v.get(`/my/certificates/${serial}/print`);
      assert.equal(print.status, 200);
      assert.match(print.text, /<svg/);
      const bySerial = await new Visitor(t.app).get(`/verify?code=${serial}`);
      assert.match(bySerial.text, /该编号的证件确已签发/);
      assert.doesNotMatch(bySerial.text, /证件有效/);
      const certs = await request(t.app).get('/api/v1/certificates').set('Authorization', auth).expect(200);
      const scan = new Visitor(t.app);
      const short = await scan.get(new URL(certs.body.items[0].verifyUrl as string).pathname);
      assert.equal(short.status, 302);
      const qrPage = await scan.get(short.headers.location!);
      assert.match(qrPage.text, /证件有效/);
      assert.match(qrPage.text, /陬市镇人民政府/);
      assert.match(list.text, new RegExp(`href="/my/certificates/${serial}/certificate.pdf"`));
      const pdf = await request(t.app).get(`/my/certificates/${serial}/certificate.pdf`).set('Cookie', [...v.cookies].map(([k, x]) => `${k}=${x}`).join('; ')).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
      assert.equal(pdf.status, 200);
      assert.equal(pdf.headers['content-type'], 'application/pdf');
      assert.equal(pdf.headers['cache-control'], 'no-store');
      assert.match(pdf.headers['content-disposition']!, new RegExp(`attachment; filename="certificate-${serial}.pdf"`));
      const bytes = pdf.body as Buffer;
      assert.equal(bytes.subarray(0, 5).toString(), '%PDF-');
      assert.ok(bytes.includes(Buffer.from('/ByteRange')), 'signed');
      if (POPPLER.pdftotext) {
        const text = pdfText(bytes);
        assert.ok(text.includes(serial), 'the holder’s own certificate');
        assert.ok(text.includes('张伟') && text.includes('李娜'), 'the holders’ names');
      }
      // The same file the API gives its holder (the same use case and access check).
      const api = await request(t.app).get(`/api/v1/certificates/${serial}/certificate.pdf`).set('Authorization', auth).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
      assert.equal(api.status, 200);
      assert.equal((api.body as Buffer).length > 1000, true);
      const stranger = (await signedIn(t)).v;
      assert.equal((await stranger.get(`/my/certificates/${serial}/print`)).status, 404);
      const theirs = await stranger.get(`/my/certificates/${serial}/certificate.pdf`);
      assert.equal(theirs.status, 404);
      assert.match(theirs.text, /找不到/);
      assert.equal((await new Visitor(t.app).get(`/my/certificates/${serial}/certificate.pdf`)).status, 303);
    });
  });

  describe('the same journey for every certificate type', () => {
    const flatten = (value: unknown, prefix: string, out: Record<string, string>): Record<string, string> => {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
      } else if (value !== undefined && value !== false) {
        out[prefix] = String(value);
      }
      return out;
    };

    for (const [type, fixture] of [
      ['rebirth-permit', rebirthPermitForm],
      ['only-child-honour', () => honourForm()],
      ['migrant-marriage', migrantForm],
    ] as const) {
      it(`when a resident files ${type} page by page, then the draft is the form the API would take and it submits`, async () => {
        // The resident files as a party: a spouse, or the woman herself for the migrant certificate.
        const { v, idNumber } = await signedIn(t, '李明', type === 'migrant-marriage' ? 'female' : 'male');
        await v.get(`/apply/start/${type}`);
        const id = (await v.post(`/apply/start/${type}`, {})).headers.location!.split('/').pop()!;
        const form = asParty(type, fixture() as Record<string, unknown>, idNumber);
        const sections = SECTIONS[type]!;
        for (const s of sections) {
          const page = await v.get(`/apply/${id}/section/${s.root}`);
          assert.equal(page.status, 200, s.root);
          if (s.kind === 'children') {
            for (const child of (form.children as unknown[] | undefined) ?? []) {
              const added = await v.post(`/apply/${id}/section/children`, { add: '1', ...flatten(child, 'child', {}) });
              assert.equal(added.status, 303, added.text);
              await v.get(`/apply/${id}/section/children`);
            }
            assert.equal((await v.post(`/apply/${id}/section/children`, { done: '1' })).status, 303);
          } else {
            if (s.kind === 'ground') for (const g of ['D1']) assert.ok(page.text.includes(`value="${g}"`));
            const fields: Record<string, string> = {};
            for (const root of [s.root, ...(s.alsoRoots ?? [])]) if (form[root] !== undefined) flatten(form[root], root, fields);
            const saved = await v.post(`/apply/${id}/section/${s.root}`, fields);
            assert.equal(saved.status, 303, `${s.root}: ${saved.text.slice(0, 2000)}`);
          }
        }
        const stored = await t.ctx.models.Application.findById(id).lean();
        assert.deepEqual(formOf(t.ctx, stored!), { ...form, children: form.children ?? [] });
        const check = await request(t.app).post(`/api/v1/certificate-types/${type}/eligibility-check`).send({ form }).expect(200);
        for (const doc of check.body.requiredDocuments as { kind: string }[]) {
          await v.get(`/apply/${id}/documents`);
          assert.equal((await v.upload(`/apply/${id}/documents`, doc.kind)).status, 303, doc.kind);
        }
        await v.get(`/apply/${id}/check`);
        const submitted = await v.post(`/apply/${id}/submit`, {});
        assert.equal(submitted.status, 303, submitted.text.slice(0, 3000));
        const done = await v.get(`/apply/${id}/done`);
        assert.match(done.text, /申请已提交/);
        assert.equal((await t.ctx.models.Application.findById(id).lean())!.status, 'pending');
      });
    }
  });

  describe('kiosk mode', () => {
    async function kioskSignedIn() {
      const terminal = await terminalLogin(t);
      const v = new Visitor(t.app);
      await v.get('/kiosk');
      const res = await v.post('/kiosk/sign-in', { terminalId: terminal.terminalId, secret: terminal.secret, operatorName: '陈干事' });
      assert.equal(res.status, 303);
      return { v, terminal };
    }

    it('when a terminal signs in with a wrong secret, then it is refused', async () => {
      const terminal = await terminalLogin(t);
      const v = new Visitor(t.app);
      await v.get('/kiosk');
      const res = await v.post('/kiosk/sign-in', { terminalId: terminal.terminalId, secret: 'wrong', operatorName: '陈干事' });
      assert.equal(res.status, 401);
      assert.match(res.text, /账号或密码不正确/);
    });

    it('when a kiosk files for a resident, then the application records the terminal, operator and consent; the pages are in large type', async () => {
      const { v, terminal } = await kioskSignedIn();
      const start = await v.get('/kiosk/start');
      assert.match(start.text, /<body class="kiosk"/);
      const bad = await v.post('/kiosk/identify', { name: '李秀英', idNumber: '430725198001010010' });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /校验位/);
      const idNumber = personId('female', '1992-01-01');
      assert.equal((await v.post('/kiosk/identify', { name: '李秀英', idNumber })).status, 303);
      await v.get('/kiosk/consent');
      assert.equal((await v.post('/kiosk/consent', {})).status, 400);
      assert.equal((await v.post('/kiosk/consent', { method: 'signature' })).status, 303);
      const serving = await v.get('/kiosk/start');
      assert.match(serving.text, /data-idle-seconds="120"/);
      assert.match(serving.text, /<noscript><meta http-equiv="refresh" content="120;url=\/kiosk\/idle">/);
      assert.ok(!serving.text.includes(idNumber));
      await v.get('/kiosk/apply/start/birth-service');
      const created = await v.post('/kiosk/apply/start/birth-service', {});
      const id = created.headers.location!.split('/').pop()!;
      const app = await t.ctx.models.Application.findById(id).lean();
      assert.equal(app!.channel, 'terminal');
      assert.equal(app!.terminal!.terminalId, terminal.terminalId);
      assert.equal(app!.terminal!.operatorName, '陈干事');
      assert.equal(app!.terminal!.consent.method, 'signature');
      // The terminal's API token may still see this case for a while; the pages show it only during this visit.
      await v.post('/kiosk/finish', {});
      assert.equal((await v.get(`/kiosk/apply/${id}`)).status, 303);
    });

    it("when a kiosk page asks for an application of another visit, then it is a 404 page", async () => {
      const { v } = await kioskSignedIn();
      await v.get('/kiosk/start');
      await v.post('/kiosk/identify', { name: '李秀英', idNumber: personId('female', '1992-01-01') });
      await v.get('/kiosk/consent');
      await v.post('/kiosk/consent', { method: 'signature' });
      const owner = await registerAndLogin(t.app);
      const theirs = await readyBirthService(t.app, owner.auth);
      assert.equal((await v.get(`/kiosk/apply/${theirs.id}`)).status, 404);
    });

    it('when the resident at a kiosk is idle past the limit, then the server forgets them on the next request', async () => {
      const { v, terminal } = await kioskSignedIn();
      await v.get('/kiosk/start');
      assert.equal((await v.post('/kiosk/identify', { name: '欧阳秀英', idNumber: personId('female', '1992-01-01') })).status, 303);
      await t.ctx.models.WebSession.updateMany({ subject: terminal.terminalId }, { $set: { residentSeenAt: new Date(Date.now() - 121_000) } });
      const res = await v.get('/kiosk/consent');
      assert.equal(res.status, 303);
      const start = await v.get('/kiosk/start');
      assert.doesNotMatch(start.text, /欧阳/);
      assert.equal(await t.ctx.models.WebSession.countDocuments(trustedFilter({ subject: terminal.terminalId, kioskResident: { $ne: null } })), 0);
    });
  });

  it('when a kiosk identifies a resident, then the stored session holds neither their ID number nor their name in clear', async () => {
    const terminal = await terminalLogin(t);
    const v = new Visitor(t.app);
    await v.get('/kiosk');
    await v.post('/kiosk/sign-in', { terminalId: terminal.terminalId, secret: terminal.secret, operatorName: '陈干事' });
    await v.get('/kiosk/start');
    const idNumber = personId('female', '1992-01-01');
    assert.equal((await v.post('/kiosk/identify', { name: '上官秋水', idNumber })).status, 303);
    const consent = await v.get('/kiosk/consent');
    assert.match(consent.text, /本人 上官秋水 同意/);
    const raw = JSON.stringify(await t.ctx.models.WebSession.find({ subject: terminal.terminalId }).lean());
    assert.match(raw, /nameSealed/);
    assert.ok(!raw.includes(idNumber));
    assert.ok(!raw.includes(idNumber.slice(6, 14)));
    assert.ok(!raw.includes('上官秋水'));
  });
});
