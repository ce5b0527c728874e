import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication } from './support/forms';
import { bothWays } from './support/browser';

/**
 * The public PDF check in a real browser (Debian's Chromium driven by playwright-core, as in
 * pages.browser.test.ts): from the verification page to the upload form, a genuine certificate
 * and an altered copy, with JavaScript on and off, axe-core on every page, screenshots at phone,
 * kiosk and desktop sizes in test-output/.
 */
const CHROMIUM = '/usr/bin/chromium';
const OUT = path.join(__dirname, '..', 'test-output');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SIZES = [
  { name: 'phone', width: 390, height: 844 },
  { name: 'kiosk', width: 1080, height: 1920 },
  { name: 'desktop', width: 1440, height: 900 },
];

describe('PDF check page in a browser (playwright-core + Chromium)', function () {
  this.timeout(180_000);
  let browser: Browser;
  let t: TestApp;
  let server: Server;
  let origin: string;
  const files = { genuine: path.join(OUT, 'verify-pdf-genuine.pdf'), altered: path.join(OUT, 'verify-pdf-altered.pdf') };
  let serial: string;
  const outside: string[] = [];

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    skipped: ${CHROMIUM} is missing (CI installs the Debian chromium package: apt-get install -y chromium)`);
      this.skip();
    }
    t = await makeTestApp();
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    // localhost: a secure context for the __Host- cookies over http.
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;

    const resident = await registerAndLogin(t.app);
    const township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const sub = await submittedApplication(t.app, resident.auth, 'birth-service', birthServiceForm());
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', township.auth).send({}).expect(200);
    serial = (await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', township.auth).send({ action: 'approve' }).expect(200)).body.certificateSerial;
    const pdf = await request(t.app)
      .get(`/api/v1/certificates/${serial}/certificate.pdf`)
      .set('Authorization', resident.auth)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      })
      .expect(200);
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(files.genuine, pdf.body as Buffer);
    const altered = Buffer.from(pdf.body as Buffer);
    const at = altered.indexOf('/Title');
    altered[at + 10] = altered[at + 10]! ^ 0x01;
    fs.writeFileSync(files.altered, altered);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  after(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
    await t?.close();
  });

  async function axe(page: Page, label: string): Promise<void> {
    await page.evaluate(AXE);
    const found = (await page.evaluate(`axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }).then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`)) as string[];
    assert.deepEqual(found, [], `axe on ${label}`);
  }

  async function shoot(page: Page, name: string): Promise<void> {
    for (const size of SIZES) {
      await page.setViewportSize({ width: size.width, height: size.height });
      await page.screenshot({ path: path.join(OUT, `${name}-${size.name}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 390, height: 844 });
  }

  async function journey(js: boolean): Promise<void> {
    const context = await browser.newContext({ javaScriptEnabled: js, locale: 'zh-CN', viewport: { width: 390, height: 844 } });
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname !== 'localhost') {
        outside.push(url.href);
        return route.abort();
      }
      return route.continue();
    });
    const page = await context.newPage();
    try {
      await page.goto(`${origin}/verify`);
      await page.getByRole('link', { name: /上传核验数字签名/ }).click();
      await page.getByRole('heading', { name: 'PDF 文件核验' }).waitFor();
      if (js) {
        await axe(page, 'the upload form');
        await shoot(page, 'verify-pdf-form');
      }

      await page.getByLabel('选择 PDF 文件').setInputFiles(files.genuine);
      await page.getByRole('button', { name: '核验', exact: true }).click();
      await page.getByRole('heading', { name: '签名有效：本文件由本系统签发，未被改动' }).waitFor();
      await page.getByRole('heading', { name: '证件当前状态：证件有效' }).waitFor();
      const text = await page.locator('main').innerText();
      assert.ok(text.includes(serial));
      assert.match(text, /李\*/);
      assert.doesNotMatch(text, /李明/);
      if (js) {
        await axe(page, 'a genuine certificate');
        await shoot(page, 'verify-pdf-genuine');
      }

      await page.getByLabel('核验另一份 PDF 文件').setInputFiles(files.altered);
      await page.getByRole('button', { name: '核验', exact: true }).click();
      await page.getByRole('heading', { name: '文件已被改动：签名与内容不符' }).waitFor();
      assert.ok(!(await page.locator('main').innerText()).includes(serial), 'an altered file shows no certificate');
      if (js) {
        await axe(page, 'an altered copy');
        await shoot(page, 'verify-pdf-altered');
      }

      // Nothing chosen: the error summary links to the file field.
      await page.getByRole('button', { name: '核验', exact: true }).click();
      await page.getByRole('link', { name: '请选择要核验的 PDF 文件' }).waitFor();
      if (js) await axe(page, 'the form with its error');
    } finally {
      await context.close();
    }
  }

  it('a person checks a genuine certificate PDF and an altered copy (JavaScript on and off)', async () => {
    await bothWays(journey);
    assert.deepEqual(outside, [], 'no request left the service');
  });
});
