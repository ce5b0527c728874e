import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG as PngImage } from 'pngjs';
import request from 'supertest';
import { accessLog } from '../service/audit/audit.service';
import { PREVIEW_LIMITS, renderPdf } from '../service/documents/preview';
import { DiskFileStore } from '../service/documents/storage';
import { couple, makeTestApp, registerAndLogin, type TestApp } from './support/app';
import { birthServiceForm, BIRTH_SERVICE_KINDS, draft, pagedPdf, PDF, PNG, upload } from './support/forms';
import { staffVisitor, Visitor } from './support/visitor';

/** A wife of her own for each filing: one couple may have only one open case of a type. */
const TOWNSHIP: { role: 'officer'; level: 'township'; jurisdiction: string[] } = { role: 'officer', level: 'township', jurisdiction: ['430725101'] };

const pageFrames = (html: string) => [...html.matchAll(/<iframe class="document-page" src="([^"]+)" width="\d+" height="\d+"[^>]* sandbox=""/g)].map((m) => m[1]!);

describe('PDF documents shown in place: pages drawn by the service', function () {
  this.timeout(120_000);
  let t: TestApp;
  let resident: Awaited<ReturnType<typeof registerAndLogin>>;
  before(async () => {
    t = await makeTestApp();
    resident = await registerAndLogin(t.app);
  });
  after(() => t.close());

  /** A submitted birth-service case whose marriage certificate is this PDF (the other documents are pictures: one drawing per case). */
  async function caseWith(marriage: Buffer): Promise<string> {
    const created = await draft(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
    for (const kind of BIRTH_SERVICE_KINDS) {
      const res = kind === 'marriage-certificate' ? await upload(t.app, resident.auth, created.id, kind, marriage) : await upload(t.app, resident.auth, created.id, kind, PNG, `${kind}.png`, 'image/png');
      assert.equal(res.status, 201);
    }
    await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', resident.auth).send({}).expect(200);
    return created.id;
  }
  const storedDoc = async (id: string, kind: string) => (await t.ctx.models.Application.findById(id).lean())!.documents.find((d) => d.kind === kind)!;
  const derivedDir = (storageId: string) => path.join(t.ctx.config.uploadsDir, storageId.slice(0, 2), `${storageId}.derived`);

  it('when an officer opens a case with a three-page PDF, then each page is framed as a PNG drawn by the service, served as a sandboxed inline attachment, logged, and kept beside the file', async () => {
    const id = await caseWith(await pagedPdf(3));
    const { v } = await staffVisitor(t, TOWNSHIP);
    const page = await v.get(`/officer/cases/${id}`);
    assert.equal(page.status, 200);
    const frames = pageFrames(page.text);
    const marriage = await storedDoc(id, 'marriage-certificate');
    assert.deepEqual(frames, [1, 2, 3].map((n) => `/officer/cases/${id}/documents/${marriage.id}/pages/${n}`));
    assert.ok(page.text.includes('共 3 页'), 'the page count is said');
    assert.ok(page.text.includes(`href="/officer/cases/${id}/documents/${marriage.id}"`), 'the original can be downloaded');

    const before = (await accessLog(t.ctx, id)).length;
    const first = await v.get(frames[0]!, '*/*');
    assert.equal(first.status, 200);
    assert.equal(first.headers['content-type'], 'image/png');
    assert.match(String(first.headers['content-disposition']), /^inline; filename="?marriage-certificate-1\.png"?$/);
    assert.equal(first.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'self'; sandbox");
    assert.equal(first.headers['x-content-type-options'], 'nosniff');
    assert.equal(first.headers['x-frame-options'], 'SAMEORIGIN');
    assert.equal(first.headers['cache-control'], 'no-store');
    const png = PngImage.sync.read(first.body as Buffer);
    assert.ok(png.width <= PREVIEW_LIMITS.maxWidth && png.height <= PREVIEW_LIMITS.maxHeight, `${png.width}×${png.height}`);
    assert.equal(png.width, PREVIEW_LIMITS.maxWidth, 'drawn at the box width');
    assert.match(page.text, new RegExp(`src="${frames[0]}" width="${png.width + 2}" height="${png.height + 2}"`), 'the frame is the image’s size');
    // The blue band of the certificate is there: the page was drawn, not a blank canvas.
    const at = (x: number, y: number) => [...png.data.subarray((png.width * y + x) * 4, (png.width * y + x) * 4 + 3)];
    assert.deepEqual(at(Math.round(png.width * 0.5), Math.round(png.height * 0.15)).map((c) => Math.round(c / 10)), [21, 22, 26]);
    assert.equal((await accessLog(t.ctx, id)).length, before + 1);
    assert.ok((await accessLog(t.ctx, id)).some((e) => e.what === 'download:marriage-certificate'));

    // Kept with the stored file (not in a static folder), and drawn once.
    const kept = fs.readdirSync(derivedDir(marriage.storageId)).sort();
    assert.deepEqual(kept, ['preview-1.png', 'preview-2.png', 'preview-3.png', 'preview.json']);
    const drawnAt = fs.statSync(path.join(derivedDir(marriage.storageId), 'preview.json')).mtimeMs;
    assert.equal((await v.get(`/officer/cases/${id}`)).status, 200);
    assert.equal((await v.get(frames[2]!, '*/*')).status, 200);
    assert.equal(fs.statSync(path.join(derivedDir(marriage.storageId), 'preview.json')).mtimeMs, drawnAt, 'the kept preview is used');

    // Lost images are derived: drawn again from the stored PDF.
    fs.rmSync(path.join(derivedDir(marriage.storageId), 'preview-2.png'));
    const again = await v.get(frames[1]!, '*/*');
    assert.equal(again.status, 200);
    assert.equal(again.headers['content-type'], 'image/png');

    // No fourth page, no page of another document, no page zero.
    assert.equal((await v.get(`/officer/cases/${id}/documents/${marriage.id}/pages/4`, '*/*')).status, 404);
    assert.equal((await v.get(`/officer/cases/${id}/documents/${marriage.id}/pages/0`, '*/*')).status, 404);
    assert.equal((await v.get(`/officer/cases/${id}/documents/${marriage.id}/pages/x`, '*/*')).status, 404);
  });

  it('when an officer of another township or the resident asks for a page, then they get 404 (signed out: the sign-in) and nothing is logged', async () => {
    const id = await caseWith(await pagedPdf(1));
    const { v } = await staffVisitor(t, TOWNSHIP);
    const frames = pageFrames((await v.get(`/officer/cases/${id}`)).text);
    assert.equal(frames.length, 1);
    const before = (await accessLog(t.ctx, id)).length;
    const { v: stranger } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    const refused = await stranger.get(frames[0]!, '*/*');
    assert.equal(refused.status, 404);
    assert.notEqual(refused.headers['content-type'], 'image/png');
    const r = new Visitor(t.app);
    await r.get('/sign-in');
    await r.post('/sign-in', { idNumber: resident.idNumber, password: 'correct horse' });
    assert.equal((await r.get(frames[0]!, '*/*')).status, 404, 'the resident who filed it: no officer page');
    assert.equal((await new Visitor(t.app).get(frames[0]!, '*/*')).status, 303, 'signed out: to the sign-in');
    assert.equal((await accessLog(t.ctx, id)).length, before);
  });

  it('when a PDF cannot be read, then the case page says the preview is unavailable and offers the download; its page is a 404, not a 500, and the outcome is kept', async () => {
    const id = await caseWith(PDF);
    const { v } = await staffVisitor(t, TOWNSHIP);
    const page = await v.get(`/officer/cases/${id}`);
    assert.equal(page.status, 200);
    assert.deepEqual(pageFrames(page.text), []);
    const marriage = await storedDoc(id, 'marriage-certificate');
    assert.match(page.text, new RegExp(`预览不可用：无法读取这个 PDF 文件。<a href="/officer/cases/${id}/documents/${marriage.id}">下载原件查看</a>`));
    const res = await v.get(`/officer/cases/${id}/documents/${marriage.id}/pages/1`, '*/*');
    assert.equal(res.status, 404);
    const manifest = JSON.parse(fs.readFileSync(path.join(derivedDir(marriage.storageId), 'preview.json'), 'utf8'));
    assert.deepEqual(manifest.preview, { ok: false, reason: 'unreadable' });
    // The download still works.
    const download = await v.get(`/officer/cases/${id}/documents/${marriage.id}`, '*/*');
    assert.equal(download.status, 200);
    assert.match(String(download.headers['content-disposition']), /^attachment/);
  });

  it('when a PDF has more pages than are drawn, then the first ones are framed and the page says how many there are', async () => {
    const id = await caseWith(await pagedPdf(PREVIEW_LIMITS.maxPages + 2));
    const { v } = await staffVisitor(t, TOWNSHIP, 'Wang Fang');
    const en = new Visitor(t.app, 'en');
    en.cookies = v.cookies;
    const page = await en.get(`/officer/cases/${id}`);
    assert.equal(pageFrames(page.text).length, PREVIEW_LIMITS.maxPages);
    assert.ok(page.text.includes(`The first ${PREVIEW_LIMITS.maxPages} of ${PREVIEW_LIMITS.maxPages + 2} pages`), 'the rest are named');
  });

  it('when the document is removed, then its drawn pages go with it; a sweep removes pages whose file is gone', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-derived-'));
    try {
      const store = new DiskFileStore(dir);
      const kept = await store.create();
      fs.writeFileSync(kept.stagingPath, 'x');
      await store.commit(kept.id);
      await store.writeDerived(kept.id, 'preview-1.png', Buffer.from('png'));
      assert.equal((await store.readDerived(kept.id, 'preview-1.png'))?.toString(), 'png');
      const listed: string[] = [];
      for await (const id of store.list()) listed.push(id);
      assert.deepEqual(listed, [kept.id], 'derived files are not stored files');
      await assert.rejects(store.writeDerived(kept.id, '../escape.png', Buffer.from('x')));
      await assert.rejects(store.writeDerived('0'.repeat(32), 'preview-1.png', Buffer.from('x')), /文件不存在|No such file/);

      // A render that finished just as its file went: the folder is left behind, and the sweep takes it.
      const gone = await store.create();
      fs.writeFileSync(gone.stagingPath, 'y');
      await store.commit(gone.id);
      await store.writeDerived(gone.id, 'preview.json', Buffer.from('{}'));
      fs.rmSync(path.join(dir, gone.id.slice(0, 2), gone.id));
      await store.sweepStaging(new Date());
      assert.equal(fs.existsSync(path.join(dir, gone.id.slice(0, 2), `${gone.id}.derived`)), false);
      assert.equal((await store.readDerived(kept.id, 'preview-1.png'))?.toString(), 'png', 'a kept file’s pages stay');

      await store.remove(kept.id);
      assert.equal(await store.readDerived(kept.id, 'preview-1.png'), undefined);
      assert.equal(fs.existsSync(path.join(dir, kept.id.slice(0, 2), `${kept.id}.derived`)), false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('bounds on the drawing', () => {
    it('when a page claims an enormous size, then it is drawn within the pixel box', async () => {
      const result = await renderPdf(await pagedPdf(1, [14_400, 14_400]));
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.pages.map((p) => [p.width, p.height]), [[PREVIEW_LIMITS.maxWidth, PREVIEW_LIMITS.maxWidth]]);
    });

    it('when drawing outlasts its deadline, then the worker is ended and the answer is too-complex', async () => {
      const started = Date.now();
      const result = await renderPdf(await pagedPdf(3), { ...PREVIEW_LIMITS, timeoutMs: 50 });
      assert.deepEqual({ ok: result.ok, reason: !result.ok && result.reason }, { ok: false, reason: 'too-complex' });
      assert.ok(Date.now() - started < 2_000, 'answered at the deadline');
    });

    it('when drawing needs more memory than its heap limit, then the worker is ended and the answer is too-complex', async () => {
      const result = await renderPdf(await pagedPdf(1), { ...PREVIEW_LIMITS, heapMb: 4 });
      assert.equal(result.ok, false);
      assert.ok(!result.ok && result.reason === 'too-complex', JSON.stringify(result));
      assert.match(!result.ok ? result.detail : '', /ERR_WORKER_OUT_OF_MEMORY/);
    });
  });
});
