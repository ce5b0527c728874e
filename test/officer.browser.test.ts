import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { PNG as PngImage } from 'pngjs';
import request from 'supertest';
import { createStaff } from '../service/accounts/accounts.service';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { at, itBothWays as bothWays, launchOrSkip, localContext, OUT, serve, type Served } from './support/browser';
import { BIRTH_SERVICE_KINDS, birthServiceForm, draft, pagedPdf, PDF, rebirthPermitForm, submittedApplication, upload } from './support/forms';

/**
 * The officer's journeys in a real browser (Debian's Chromium driven by playwright-core), each with
 * JavaScript on and off, axe-core on every page, screenshots at phone, kiosk and desktop sizes in
 * test-output/: a township officer claims, reads the documents in place, returns the case for two
 * documents, and approves the resident's fix; a county officer decides a re-birth permit's second
 * stage and prints the certificate.
 */
const PASSWORD = 'officer-password-1';

/** A real picture (a couple's photo stands in as a coloured card), so the frame shows an image. */
function photo(): Buffer {
  const png = new PngImage({ width: 240, height: 160 });
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (png.width * y + x) << 2;
      png.data[i] = x < 120 ? 200 : 30;
      png.data[i + 1] = 60;
      png.data[i + 2] = y < 80 ? 90 : 220;
      png.data[i + 3] = 255;
    }
  }
  return PngImage.sync.write(png);
}

describe('officer pages in a browser (playwright-core + Chromium)', function () {
  this.timeout(240_000);
  let browser: Browser;
  let served: Served;
  let t: TestApp;
  let origin: string;
  const violations: string[] = [];

  before(async function () {
    browser = await launchOrSkip(this);
    // A database of its own: the cases filed here must not crowd other files' queues.
    served = await serve(await makeTestApp());
    ({ t, origin } = served);
  });

  after(async () => {
    await browser?.close();
    if (!served) return;
    await new Promise((resolve) => served.server.close(resolve));
    await t.conn.dropDatabase();
    await t.close();
  });

  const newContext = (js: boolean): Promise<BrowserContext> => localContext(browser, js, violations, { width: 1440, height: 900 });

  async function signIn(page: Page, spec: { level: 'township' | 'county'; jurisdiction: string[] }, name: string): Promise<void> {
    const username = `o${crypto.randomBytes(5).toString('hex')}`;
    await createStaff(t.ctx, { username, password: PASSWORD, name, role: 'officer', ...spec });
    await page.goto(origin + '/officer');
    await page.getByLabel('用户名').fill(username);
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '待办', exact: true }).waitFor();
  }

  bothWays('a township officer claims, reads the documents in place, returns two kinds, and approves the fix', async (js) => {
    const resident = await registerAndLogin(t.app);
    const created = await draft(t.app, resident.auth, 'birth-service', birthServiceForm());
    // A photo, a real two-page PDF (the marriage certificate), and PDFs no reader can open.
    const certificate = await pagedPdf(2);
    for (const kind of BIRTH_SERVICE_KINDS) {
      const res =
        kind === 'photo' ? await upload(t.app, resident.auth, created.id, kind, photo(), 'photo.png', 'image/png')
        : kind === 'marriage-certificate' ? await upload(t.app, resident.auth, created.id, kind, certificate)
        : await upload(t.app, resident.auth, created.id, kind);
      assert.equal(res.status, 201, res.text);
    }
    const submitted = await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', resident.auth).send({}).expect(200);
    const number = submitted.body.number as string;

    const context = await newContext(js);
    const page = await context.newPage();
    const frames: { url: string; status: number; type: string; csp: string; disposition: string }[] = [];
    page.on('response', (r) => {
      if (/\/(view|pages\/\d+)$/.test(r.url())) frames.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? '', csp: r.headers()['content-security-policy'] ?? '', disposition: r.headers()['content-disposition'] ?? '' });
    });
    await signIn(page, { level: 'township', jurisdiction: ['430725101'] }, '王芳');
    await page.getByLabel('状态').selectOption('unclaimed');
    await page.getByRole('button', { name: '筛选' }).click();
    await page.locator('tr', { hasText: number }).first().waitFor();
    await at(page, 'workqueue', { js, shot: 'officer2-workqueue' });
    await page.locator('tr', { hasText: number }).getByRole('button', { name: '认领' }).click();
    await page.getByRole('heading', { name: number }).waitFor();

    // The photo is read in place, in a sandboxed frame, and so are the PDF's pages, as images the
    // service drew; the unreadable PDFs say so and offer the download.
    const frameCount = await page.locator('iframe.document-frame, iframe.document-page').count();
    assert.equal(frameCount, 3, 'the photo and the two pages of the marriage certificate');
    const shown = page.locator('iframe.document-frame').contentFrame().locator('img');
    await shown.waitFor();
    assert.equal(Math.round((await shown.boundingBox())?.width ?? 0), 240, 'the picture is drawn');
    for (const frame of await page.locator('iframe.document-frame, iframe.document-page').all()) assert.equal(await frame.getAttribute('sandbox'), '');
    const firstPage = page.locator('iframe.document-page').first();
    assert.match(await firstPage.getAttribute('title') ?? '', /结婚证.*第 1 页/);
    const pageImage = firstPage.contentFrame().locator('img');
    await pageImage.waitFor();
    const naturalWidth = () => pageImage.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
    let natural = await naturalWidth();
    for (let i = 0; i < 50 && natural === 0; i++) natural = await page.waitForTimeout(100).then(naturalWidth);
    assert.ok(natural > 0, 'the first page of the PDF loaded as an image');
    const box = await pageImage.boundingBox();
    const frameBox = await firstPage.boundingBox();
    assert.ok(box && frameBox && box.width <= frameBox.width && box.height <= frameBox.height, `the whole page shows in its frame: ${JSON.stringify({ box, frameBox })}`);
    assert.equal(await page.locator('.preview-unavailable').count(), 3, 'the unreadable PDFs say the preview is unavailable');
    assert.equal(await page.locator('.preview-unavailable a', { hasText: '下载原件查看' }).count(), 3);
    await expectFrames();
    for (const f of frames) {
      assert.equal(f.status, 200, f.url);
      assert.equal(f.type, 'image/png', f.url);
      assert.match(f.csp, /sandbox/);
      assert.match(f.disposition, /^inline/);
    }
    assert.equal(frames.filter((f) => /\/pages\/\d+$/.test(f.url)).length, 2, JSON.stringify(frames));
    const log = (await t.ctx.models.AccessLog.findById(created.id).lean())?.entries.map((e) => e.what) ?? [];
    assert.ok(log.includes('download:photo'), JSON.stringify(log));
    assert.ok(log.includes('download:marriage-certificate'), JSON.stringify(log));
    await at(page, 'case', { js, shot: 'officer2-case' });
    if (js) {
      await page.locator('iframe.document-frame').screenshot({ path: path.join(OUT, 'officer2-document-frame.png') });
      await firstPage.screenshot({ path: path.join(OUT, 'officer2-pdf-page.png') });
    }

    // Return, naming two documents; no confirmation for a return (the case comes back).
    // A tick can be lost when the framed document finishes loading under the pointer; tick again until it holds.
    for (const id of ['#missing-photo', '#missing-household-register']) {
      const box = page.locator(id);
      for (let i = 0; i < 3 && !(await box.isChecked()); i += 1) await box.click();
      assert.ok(await box.isChecked(), `${id} ticked`);
    }
    await page.locator('#return-reason').fill('照片不清晰，户口簿缺少女方页');
    await page.getByRole('button', { name: '退回补正', exact: true }).click();
    await page.getByRole('heading', { name: number }).waitFor();
    let stored = await t.ctx.models.Application.findById(created.id).lean();
    assert.equal(stored!.status, 'returned');
    assert.deepEqual([...stored!.missing!].sort(), ['household-register', 'photo']);

    // The resident's fix comes back (through the API, as a resident's app would send it).
    for (const kind of ['photo', 'household-register']) assert.equal((await upload(t.app, resident.auth, created.id, kind, PDF)).status, 201);
    await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', resident.auth).send({}).expect(200);

    await page.goto(origin + '/officer');
    await page.locator('tr', { hasText: number }).getByRole('button', { name: '认领' }).click();
    await page.getByRole('heading', { name: number }).waitFor();
    if (js) {
      // The keyboard shortcut for approve, documented on the page; it still asks to confirm.
      await page.locator('main h1').click();
      await page.keyboard.press('a');
    } else {
      await page.getByRole('button', { name: '批准并发证' }).click();
    }
    await page.getByRole('heading', { name: '确认批准并发证？' }).waitFor();
    await at(page, 'confirm', { js, shot: 'officer2-confirm' });
    await page.getByRole('button', { name: '确认' }).click();
    await page.getByRole('heading', { name: number }).waitFor();
    stored = await t.ctx.models.Application.findById(created.id).lean();
    assert.equal(stored!.status, 'approved');
    assert.ok(stored!.certificateSerial);
    await context.close();

    async function expectFrames() {
      for (let i = 0; i < 50 && frames.length < frameCount; i++) await page.waitForTimeout(100);
      assert.equal(frames.length, frameCount, JSON.stringify(frames));
    }
  });

  bothWays('a county officer decides the second stage of a re-birth permit and prints the certificate', async (js) => {
    const resident = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, resident.auth, 'rebirth-permit', rebirthPermitForm());
    const township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', township.auth).send({}).expect(200);
    await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', township.auth).send({ action: 'approve' }).expect(200);

    const context = await newContext(js);
    const page = await context.newPage();
    await signIn(page, { level: 'county', jurisdiction: ['430725'] }, '李县');
    await page.getByLabel('乡镇').selectOption('430725101');
    await page.getByLabel('事项').selectOption('rebirth-permit');
    await page.getByRole('button', { name: '筛选' }).click();
    const row = page.locator('tr', { hasText: sub.number });
    await row.waitFor();
    assert.match(await row.innerText(), /县级审批/);
    await at(page, 'county workqueue', { js, shot: 'officer2-county-queue' });
    await row.getByRole('button', { name: '认领' }).click();
    await page.getByRole('heading', { name: sub.number }).waitFor();
    await page.getByRole('button', { name: '查看完整身份证号码' }).click();
    await page.getByText('已显示完整身份证号码').waitFor();
    const log = (await t.ctx.models.AccessLog.findById(sub.id).lean())?.entries.map((e) => e.what) ?? [];
    assert.ok(log.includes('view:id-numbers'), JSON.stringify(log));
    await at(page, 'case with ID numbers', { js, shot: 'officer2-county-case' });
    await page.getByRole('button', { name: '批准并发证' }).click();
    await page.getByRole('heading', { name: '确认批准并发证？' }).waitFor();
    await page.getByRole('button', { name: '确认' }).click();
    await page.getByRole('heading', { name: sub.number }).waitFor();
    const stored = await t.ctx.models.Application.findById(sub.id).lean();
    assert.equal(stored!.status, 'approved');
    assert.equal(stored!.stageIndex, 1);
    const serial = stored!.certificateSerial!;
    assert.ok(serial);
    await page.getByRole('link', { name: `打印证件 ${serial}` }).click();
    await page.waitForURL(`**/officer/certificates/${serial}/print`);
    assert.match(await page.locator('body').innerText(), new RegExp(serial));
    await at(page, 'certificate', { js, shot: 'officer2-certificate' });
    await context.close();
  });

  it('no page of the journeys asked for anything outside the service', () => {
    assert.deepEqual(violations, []);
  });
});
