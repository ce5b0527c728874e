import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { createStaff } from '../service/accounts/accounts.service';
import { makeTestApp, registerAndLogin, staffLogin, uniqueIdNumber } from './support/app';
import { bothWays, checkA11y, CHROMIUM, CHROMIUM_ARGS, newContext, OUT, serve, shoot, type Served } from './support/browser';
import { birthServiceForm, submittedApplication } from './support/forms';

/**
 * The administrator's journey in a real browser, with JavaScript on and off: sign in, read the
 * dashboard, export its CSV, revoke a certificate; the public verification page then says revoked.
 */
describe('admin pages in a browser (playwright-core + Chromium)', function () {
  this.timeout(300_000);
  let browser: Browser;
  let main: Served;
  const violations: string[] = [];
  const username = `a${crypto.randomBytes(5).toString('hex')}`;
  const password = 'admin-password-1';
  /** One certificate for each run (scripts on, scripts off): each revokes its own. */
  const certificates: { serial: string; verifyPath: string }[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing (CI installs the Debian chromium package: apt-get install -y chromium)`);
      this.skip();
    }
    fs.mkdirSync(OUT, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    main = await serve(await makeTestApp());
    const { t } = main;
    await createStaff(t.ctx, { username, password, name: '县局管理员', role: 'admin' });
    const resident = await registerAndLogin(t.app, { name: '周<em>敏</em>' });
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const admin = await staffLogin(t, { role: 'admin' });
    for (let i = 0; i < 2; i++) {
      const form = birthServiceForm();
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', { ...form, wife: { ...(form.wife as object), idNumber: uniqueIdNumber('female', 1980) } });
      await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
      const done = await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
      const serial = done.body.certificateSerial as string;
      const cert = await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', admin.auth).expect(200);
      certificates.push({ serial, verifyPath: new URL(cert.body.verifyUrl as string).pathname });
    }
  });

  after(async () => {
    await browser?.close();
    if (main) {
      await new Promise((resolve) => main.server.close(resolve));
      await main.t.conn.dropDatabase();
      await main.t.close();
    }
  });

  async function at(page: Page, label: string, js: boolean, shot?: string): Promise<void> {
    if (!js) return;
    await checkA11y(page, label);
    if (shot) await shoot(page, shot);
  }

  it('an admin reads the dashboard, exports the CSV and revokes a certificate; verification then says revoked (JavaScript on and off)', async () => {
    await bothWays(async (js) => {
      const { serial, verifyPath } = certificates[js ? 0 : 1]!;
      const context = await newContext(browser, js, violations, { acceptDownloads: true });
      const page = await context.newPage();
      await page.goto(`${main.origin}/officer/sign-in`);
      await page.getByLabel('用户名').fill(username);
      await page.getByLabel('密码').fill(password);
      await page.getByRole('button', { name: '登录' }).click();
      await page.getByRole('heading', { name: '待办' }).waitFor();

      // The dashboard: the headline, the trend chart (named) and its table.
      await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '统计' }).click();
      await page.getByRole('heading', { name: '统计', exact: true }).waitFor({ timeout: 60_000 });
      const headline = await page.locator('.tile-headline dd').innerText();
      assert.ok(Number(headline) >= 2, `certificates issued: ${headline}`);
      assert.match(await page.locator('svg.chart title').textContent() ?? '', /近 8 周/);
      assert.equal(await page.getByRole('img', { name: /近 8 周收件、办结与发证/ }).count(), 1);
      await at(page, 'dashboard', js, 'admin-dashboard');

      // The CSV: every figure, the headline among them.
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: '下载全部数据（CSV）' }).click()]);
      assert.match(download.suggestedFilename(), /^stats-\d{4}-\d{2}-01-\d{4}-\d{2}-\d{2}\.csv$/);
      const csv = fs.readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '');
      const lines = csv.trim().split('\r\n');
      assert.equal(lines[0], 'series,scope,from,to,figure,dimension,key,value');
      const issued = lines.find((l) => /^period,all,[\d-]+,[\d-]+,certificates\.issued,all,,/.test(l));
      assert.equal(issued?.split(',')[7], headline, 'the CSV says what the page says');
      assert.equal(new Set(lines.filter((l) => l.startsWith('week,')).map((l) => l.split(',')[2])).size, 8, 'eight weeks');

      // Every figure by township, on a page of its own.
      await page.getByRole('link', { name: '按乡镇查看各项指标' }).click();
      await page.getByRole('heading', { name: '按乡镇统计' }).waitFor({ timeout: 120_000 });
      assert.match(await page.getByRole('row', { name: /陬市镇/ }).innerText(), /陬市镇\s+2\s+2\s+2/);
      await at(page, 'dashboard by township', js, 'admin-dashboard-townships');

      // Administration: find the certificate, choose the reason, confirm.
      await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '管理' }).click();
      await page.getByRole('heading', { name: '管理', exact: true }).waitFor();
      await at(page, 'administration', js, 'admin-home');
      await page.getByRole('link', { name: '注销证件' }).click();
      await page.getByLabel('证件编号').fill(serial);
      await page.getByRole('button', { name: '查找' }).click();
      await page.getByRole('heading', { name: serial }).waitFor();
      await page.getByRole('button', { name: '继续' }).click();
      await page.getByRole('heading', { name: '请修改以下问题' }).waitFor();
      await at(page, 'revoke without a reason', js);
      await page.getByLabel(/以欺骗等不正当手段取得/).check();
      await page.getByRole('button', { name: '继续' }).click();
      await page.getByRole('heading', { name: '确认注销该证件？' }).waitFor();
      await at(page, 'confirm revocation', js);
      await page.getByRole('button', { name: '确认注销' }).click();
      await page.getByRole('heading', { name: '证件已注销' }).waitFor();
      const notice = await page.locator('.notice').innerText();
      assert.ok(notice.includes(serial) && notice.includes('以欺骗等不正当手段取得'), notice);
      await at(page, 'revoked', js, 'admin-revoked');
      const stored = await main.t.ctx.models.Certificate.findOne({ serial }).lean();
      assert.equal(stored!.status, 'revoked');
      assert.equal(stored!.revokeReasonCode, 'fraud');

      // The public: the QR's link now says revoked.
      await page.goto(main.origin + verifyPath);
      await page.getByRole('heading', { name: '证件已注销' }).waitFor();
      await at(page, 'verification after revocation', js, 'verify-revoked');
      await context.close();
    });
  });

  it('no page of the journey asked for anything outside the service', () => {
    assert.deepEqual(violations, []);
  });
});
