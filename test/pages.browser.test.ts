import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import request from 'supertest';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, testConfig, uniquePhone } from './support/app';
import { BIRTH_SERVICE_KINDS, personId, readyBirthService, birthServiceForm, submittedApplication, terminalFiling } from './support/forms';
import { createStaff } from '../service/accounts/accounts.service';
import { at, itBothWays as bothWays, launchOrSkip, localContext, OUT, serve, type Served } from './support/browser';

/**
 * Journeys in a real browser (Debian's Chromium driven by playwright-core), each with JavaScript on
 * and off, with axe-core on every page and screenshots at phone, kiosk and desktop sizes written to
 * test-output/ for a person to look at.
 */
const PDF_FILE = path.join(OUT, 'fixture.pdf');

describe('pages in a browser (playwright-core + Chromium)', function () {
  this.timeout(180_000);
  let browser: Browser;
  let main: Served;
  let idle: Served;
  const violations: string[] = [];

  before(async function () {
    browser = await launchOrSkip(this);
    fs.writeFileSync(PDF_FILE, '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
    main = await serve(await makeTestApp());
    idle = await serve(await makeTestApp({ config: testConfig({ KIOSK_IDLE_SECONDS: '3' }) }));
  });

  after(async () => {
    await browser?.close();
    for (const s of [main, idle]) {
      if (!s) continue;
      await new Promise((resolve) => s.server.close(resolve));
      await s.t.close();
    }
  });

  const newContext = (js: boolean): Promise<BrowserContext> => localContext(browser, js, violations);

  const husband = () => ({ name: '张伟', idNumber: personId('male', '1990-05-01') });
  const wife = () => ({ name: '李娜', idNumber: personId('female', '1992-01-01') });

  /** Fills the birth-service sections from the task list (same pages for residents and kiosks). */
  async function fillBirthService(page: Page, js: boolean, couple: { h: { name: string; idNumber: string }; w: { name: string; idNumber: string } }, shots: boolean) {
    await page.getByRole('link', { name: '居住地' }).click();
    await page.getByLabel('所在村（社区）').selectOption('430725101202');
    await at(page, 'section residence', { js, shot: shots ? 'section' : undefined });
    await page.getByRole('button', { name: '保存并继续' }).click();
    for (const [who, p] of [['男方', couple.h], ['女方', couple.w]] as const) {
      await page.getByRole('link', { name: `${who}信息` }).click();
      await page.getByLabel(`${who}姓名`).fill(p.name);
      await page.getByLabel(`${who}居民身份证号码`).fill(p.idNumber);
      await page.getByLabel('农村居民').check();
      await page.getByRole('button', { name: '保存并继续' }).click();
    }
    await page.getByRole('link', { name: '婚姻' }).click();
    await page.getByLabel('结婚登记日期').fill('2015-06-01');
    await page.getByLabel('初婚').check();
    await page.getByRole('button', { name: '保存并继续' }).click();
    await page.getByRole('link', { name: '子女情况' }).click();
    await page.getByLabel('男', { exact: true }).check();
    await page.getByLabel('出生日期').fill('2018-03-03');
    await page.getByLabel('是', { exact: true }).check();
    await page.getByLabel('与本次婚姻的关系').selectOption('joint');
    await page.getByRole('button', { name: '添加这个子女' }).click();
    await page.locator('ul.children li').first().waitFor();
    await at(page, 'children', { js, shot: shots ? 'children' : undefined });
    await page.getByRole('button', { name: '子女已填完，继续' }).click();
    await at(page, 'task list', { js, shot: shots ? 'task-list' : undefined });
    await page.getByRole('link', { name: '上传材料' }).click();
    for (const kind of BIRTH_SERVICE_KINDS) {
      await page.locator(`#file-${kind}`).setInputFiles(PDF_FILE);
      await page.locator(`form.upload:has(#file-${kind}) button`).click();
      await page.locator(`li.document:has(#file-${kind}) .file`).first().waitFor();
    }
    assert.equal(await page.locator('#file-photo').getAttribute('capture'), 'environment');
    await at(page, 'documents', { js, shot: shots ? 'documents' : undefined });
    await page.getByRole('link', { name: '继续' }).click();
    await page.getByRole('heading', { name: '核对申请内容' }).waitFor();
    await at(page, 'check answers', { js, shot: shots ? 'check-answers' : undefined });
  }

  bothWays('a resident registers and applies for a birth-service certificate to the confirmation', async (js) => {
    const context = await newContext(js);
    const page = await context.newPage();
    await page.goto(main.origin + '/');
    await at(page, 'home', { js, shot: 'home' });
    await page.getByRole('link', { name: '生育服务证' }).first().click();
    await page.getByRole('heading', { name: '申请条件' }).waitFor();
    await at(page, 'guide', { js, shot: 'guide' });
    await page.getByRole('link', { name: '在线申报' }).first().click();
    // Not signed in: sign-in page, then register.
    await page.getByRole('link', { name: '注册' }).click();
    const couple = { h: husband(), w: wife() };
    await page.getByLabel('姓名').fill(couple.h.name);
    await page.getByLabel('居民身份证号码').fill(couple.h.idNumber);
    const phone = uniquePhone();
    await page.getByLabel('手机号码').fill(phone);
    // The phone is checked by a code sent to it (read here from the fake SMS gateway).
    await page.getByRole('button', { name: '发送验证码' }).click();
    await page.getByText('验证码已发送').waitFor();
    await page.getByLabel('短信验证码').fill(await main.t.sms.lastCode(phone));
    await page.getByLabel('密码').fill('correct horse');
    await at(page, 'register', { js, shot: 'register' });
    await page.getByRole('button', { name: '注册', exact: true }).click();
    await page.getByRole('button', { name: '开始申请' }).click();
    await fillBirthService(page, js, couple, js);
    await page.getByRole('button', { name: '确认并提交' }).click();
    await page.getByRole('heading', { name: '申请已提交' }).waitFor();
    const number = (await page.locator('.reference').first().textContent())!;
    assert.match(number, /^430725-\d{4}-\d{6}$/);
    assert.match((await page.locator('.access-code').textContent())!, /^[2-9A-Z]{4}-[2-9A-Z]{4}$/);
    assert.match(await page.locator('main').innerText(), /本环节承诺办结日期\s*\d{4}-\d{2}-\d{2}/);
    await at(page, 'confirmation', { js, shot: 'confirmation' });
    const stored = await main.t.ctx.models.Application.findOne({ number }).lean();
    assert.equal(stored?.status, 'pending');
    assert.equal(stored?.channel, 'online');
    // My cases shows it with its timeline.
    await page.getByRole('link', { name: '查看办件详情' }).click();
    await page.getByText('提交申请').first().waitFor();
    await at(page, 'case page', { js, shot: 'case' });
    await context.close();
  });

  bothWays('a kiosk files for a resident, prints the receipt, and the case can be followed by its number', async (js) => {
    const terminal = await terminalLogin(main.t);
    const context = await newContext(js);
    const page = await context.newPage();
    await page.goto(main.origin + '/kiosk');
    await page.getByLabel('终端编号').fill(terminal.terminalId);
    await page.getByLabel('终端密钥').fill(terminal.secret);
    await page.getByLabel('值班工作人员姓名').fill('陈干事');
    await at(page, 'kiosk sign-in', { js, shot: 'kiosk-sign-in' });
    await page.getByRole('button', { name: '登录' }).click();
    const couple = { h: husband(), w: wife() };
    await page.getByLabel('居民姓名').fill(couple.w.name);
    await page.getByLabel('居民身份证号码').fill(couple.w.idNumber);
    await at(page, 'kiosk identify', { js, shot: 'kiosk-identify' });
    await page.getByRole('button', { name: '下一步' }).click();
    await page.getByLabel('居民签署纸质代办同意书').check();
    await page.getByLabel('同意书编号（选填）').fill('CF-2026-0001');
    await at(page, 'kiosk consent', { js, shot: 'kiosk-consent' });
    await page.getByRole('button', { name: '居民已同意，继续' }).click();
    await page.getByRole('link', { name: '生育服务证' }).click();
    await page.getByRole('button', { name: '开始申请' }).click();
    await fillBirthService(page, js, couple, false);
    await page.getByRole('button', { name: '确认并提交' }).click();
    await page.getByRole('heading', { name: '受理回执' }).waitFor();
    const number = (await page.locator('.reference').first().textContent())!;
    const accessCode = (await page.locator('.access-code').textContent())!;
    assert.match(accessCode, /^[2-9A-Z]{4}-[2-9A-Z]{4}$/);
    assert.equal(await page.getByRole('button', { name: '打印回执' }).isVisible(), js);
    await at(page, 'kiosk receipt', { js, shot: 'kiosk-receipt' });
    if (js) {
      await page.emulateMedia({ media: 'print' });
      await page.screenshot({ path: path.join(OUT, 'kiosk-receipt-print.png'), fullPage: true });
      assert.equal(await page.locator('header.masthead').isVisible(), false);
      await page.emulateMedia({ media: 'screen' });
    }
    const stored = await main.t.ctx.models.Application.findOne({ number }).lean();
    assert.equal(stored?.channel, 'terminal');
    assert.equal(stored?.terminal?.operatorName, '陈干事');
    assert.equal(stored?.terminal?.consent.method, 'paper-form');
    // Next resident: the previous one's receipt is gone, also through the back button.
    await page.getByRole('button', { name: '办理完毕，接待下一位' }).click();
    await page.getByLabel('居民姓名').waitFor();
    await page.goBack();
    assert.doesNotMatch(await page.content(), new RegExp(number));
    // The resident follows the kiosk case by number and access code from the receipt (or in her
    // own cases once she has an account: the next journey).
    const resident = await newContext(js);
    const rp = await resident.newPage();
    await rp.goto(main.origin + '/query');
    await rp.getByLabel('受理编号').fill(number);
    await rp.getByLabel('查询码').fill(accessCode);
    await rp.getByRole('button', { name: '查询' }).click();
    await rp.getByRole('heading', { name: '查询结果' }).waitFor();
    assert.match(await rp.locator('main').innerText(), /待审核/);
    await at(rp, 'case query result', { js, shot: 'query-result' });
    await resident.close();
    await context.close();
  });

  bothWays('the resident a kiosk filed for registers, signs in and sees the kiosk case in my cases with its timeline', async (js) => {
    const { t } = main;
    const couple = { h: husband(), w: wife() };
    // The kiosk files for the wife (a party of the form) and submits: the receipt's number is what she has.
    const terminal = await terminalLogin(t);
    const filed = await readyBirthService(t.app, terminal.auth, { ...birthServiceForm(), husband: { ...couple.h, residentType: 'rural' }, wife: { ...couple.w, residentType: 'rural' } }, terminalFiling(couple.w.idNumber, couple.w.name));
    const { number } = (await request(t.app).post(`/api/v1/applications/${filed.id}/submit`).set('Authorization', terminal.auth).send({}).expect(200)).body as { number: string };

    const context = await newContext(js);
    const page = await context.newPage();
    await page.goto(main.origin + '/my');
    // Not signed in: the sign-in page; she has no account yet, so she registers with her phone.
    await page.getByRole('link', { name: '注册' }).click();
    await page.getByLabel('姓名').fill(couple.w.name);
    await page.getByLabel('居民身份证号码').fill(couple.w.idNumber);
    const phone = uniquePhone();
    await page.getByLabel('手机号码').fill(phone);
    await page.getByRole('button', { name: '发送验证码' }).click();
    await page.getByText('验证码已发送').waitFor();
    await page.getByLabel('短信验证码').fill(await t.sms.lastCode(phone));
    await page.getByLabel('密码').fill('correct horse');
    await page.getByRole('button', { name: '注册', exact: true }).click();
    await page.getByRole('heading', { name: '我的办件' }).waitFor();
    const row = page.locator('tr', { hasText: number });
    assert.match(await row.innerText(), /终端代办/);
    assert.match(await row.innerText(), /待审核/);
    await at(page, 'my cases with the kiosk case', { js, shot: 'my-cases-kiosk' });
    // Signed out and in again: the case is still hers.
    await page.getByRole('button', { name: '退出' }).click();
    await page.goto(main.origin + '/sign-in');
    await page.getByLabel('居民身份证号码').fill(couple.w.idNumber);
    await page.getByLabel('密码').fill('correct horse');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '我的办件' }).waitFor();
    await page.locator('tr', { hasText: number }).getByRole('link').click();
    await page.getByRole('heading', { name: '办理进度' }).waitFor();
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(number));
    assert.match(text, /提交申请/);
    assert.match(text, /待审核/);
    await at(page, 'kiosk case timeline', { js, shot: 'kiosk-case-timeline' });
    await context.close();
  });

  bothWays('a returned case is fixed and resubmitted', async (js) => {
    const { t } = main;
    const couple = { h: husband(), w: wife() };
    const account = await registerAndLogin(t.app, { idNumber: couple.h.idNumber, password: 'correct horse' });
    const created = await readyBirthService(t.app, account.auth, { ...birthServiceForm(), husband: { ...couple.h, residentType: 'rural' } });
    await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', account.auth).send({}).expect(200);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    await request(t.app).post(`/api/v1/applications/${created.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    await request(t.app).post(`/api/v1/applications/${created.id}/decision`).set('Authorization', officer.auth)
      .send({ action: 'return', reason: '照片不清晰', missing: ['photo'] }).expect(200);

    const context = await newContext(js);
    const page = await context.newPage();
    await page.goto(main.origin + '/sign-in');
    await page.getByLabel('居民身份证号码').fill(couple.h.idNumber);
    await page.getByLabel('密码').fill('correct horse');
    await at(page, 'sign-in', { js, shot: 'sign-in' });
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '我的办件' }).waitFor();
    await at(page, 'my cases', { js, shot: 'my-cases' });
    await page.getByRole('link', { name: '生育服务证' }).first().click();
    const text = await page.locator('main').innerText();
    assert.match(text, /夫妻二寸合影照片两张/);
    assert.match(text, /照片不清晰/);
    await at(page, 'returned case', { js, shot: 'returned-case' });
    await page.getByRole('link', { name: '补充材料' }).click();
    await page.locator('#file-photo').setInputFiles(PDF_FILE);
    await page.locator('form.upload:has(#file-photo) button').click();
    await page.locator('li.document:has(#file-photo) .file').nth(1).waitFor();
    await page.getByRole('link', { name: '继续' }).click();
    await page.getByRole('button', { name: '重新提交' }).click();
    await page.getByRole('heading', { name: '申请已提交' }).waitFor();
    const stored = await t.ctx.models.Application.findById(created.id).lean();
    assert.equal(stored?.status, 'pending');
    assert.ok(stored?.history.some((h) => h.action === 'resubmit'));
    await context.close();
  });

  bothWays('the public verifies a certificate from its QR URL; JSON clients still get JSON', async (js) => {
    const { t } = main;
    const account = await registerAndLogin(t.app);
    const created = await readyBirthService(t.app, account.auth);
    await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', account.auth).send({}).expect(200);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    await request(t.app).post(`/api/v1/applications/${created.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    await request(t.app).post(`/api/v1/applications/${created.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
    const certs = await request(t.app).get('/api/v1/certificates').set('Authorization', account.auth).expect(200);
    const url = new URL(certs.body.items[0].verifyUrl as string);
    // The QR carries a short link that redirects to the token's URL.
      const json = await request(t.app).get(url.pathname).set('Accept', 'application/json').redirects(1).expect(200);
    assert.equal(json.body.status, 'valid');

    const context = await newContext(js);
    const page = await context.newPage();
    await page.goto(main.origin + url.pathname);
    await page.getByRole('heading', { name: '证件有效' }).waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, new RegExp(certs.body.items[0].serial));
    assert.match(text, /李\*/);
    assert.doesNotMatch(text, /李明/);
    await at(page, 'verification', { js, shot: 'verify' });
    await context.close();
  });

  bothWays('an idle kiosk clears the resident and the back button shows nothing of them', async (js) => {
    const terminal = await terminalLogin(idle.t);
    const context = await newContext(js);
    const page = await context.newPage();
    await page.goto(idle.origin + '/kiosk');
    await page.getByLabel('终端编号').fill(terminal.terminalId);
    await page.getByLabel('终端密钥').fill(terminal.secret);
    await page.getByLabel('值班工作人员姓名').fill('陈干事');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByLabel('居民姓名').fill('欧阳秀英');
    await page.getByLabel('居民身份证号码').fill(personId('female', '1992-01-01'));
    await page.getByRole('button', { name: '下一步' }).click();
    await page.getByLabel('居民口头同意，工作人员见证').check();
    await page.getByRole('button', { name: '居民已同意，继续' }).click();
    await page.getByText('正在为').waitFor();
    // Nobody touches the screen: after 3 s the page itself goes to the idle page.
    await page.waitForURL('**/kiosk/idle', { timeout: 15_000 });
    await page.getByRole('heading', { name: /已清除上一位居民的信息/ }).waitFor();
    await at(page, 'kiosk idle', { js, shot: 'kiosk-idle' });
    await page.goBack();
    assert.doesNotMatch(await page.content(), /欧阳/);
    const sessions = await idle.t.ctx.models.WebSession.find({ kind: 'kiosk', subject: terminal.terminalId }).lean();
    assert.ok(sessions.length >= 1 && sessions.every((s) => !s.kioskResident));
    await context.close();
  });

  bothWays('an officer signs in, claims from the workqueue, reads the case and approves after confirming', async (js) => {
    const resident = await registerAndLogin(main.t.app);
    const sub = await submittedApplication(main.t.app, resident.auth, 'birth-service', birthServiceForm());
    const username = `b${crypto.randomBytes(5).toString('hex')}`;
    await createStaff(main.t.ctx, { username, password: 'officer-password-1', name: '王芳', role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const context = await newContext(js);
    const page = await context.newPage();
    await page.goto(main.origin + '/officer');
    await page.getByLabel('用户名').fill(username);
    await page.getByLabel('密码').fill('officer-password-1');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '待办' }).waitFor();
    await at(page, 'workqueue', { js, shot: 'officer-workqueue' });
    await page.locator('tr', { hasText: sub.number }).getByRole('button', { name: '认领' }).click();
    await page.getByRole('heading', { name: sub.number }).waitFor();
    await page.getByText('条件审查').waitFor();
    await at(page, 'case', { js, shot: 'officer-case' });
    await page.getByRole('button', { name: '批准并发证' }).click();
    await page.getByRole('heading', { name: '确认批准并发证？' }).waitFor();
    await at(page, 'confirm', { js });
    await page.getByRole('button', { name: '确认' }).click();
    await page.getByRole('heading', { name: sub.number }).waitFor();
    const stored = await main.t.ctx.models.Application.findById(sub.id).lean();
    assert.equal(stored!.status, 'approved');
    assert.ok(stored!.certificateSerial);
    await context.close();
  });

  it('no page of the journeys asked for anything outside the service', () => {
    assert.deepEqual(violations, []);
  });
});
