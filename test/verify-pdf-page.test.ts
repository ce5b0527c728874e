import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import request from 'supertest';
import { generatePdfKey, loadPdfKeyRing, signPdf } from '../service/pdf/signing';
import { makeTestApp, registerAndLogin, staffLogin, uniqueIdNumber, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication } from './support/forms';
import { Visitor } from './support/visitor';

const binary = (req: request.Test) =>
  req.buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  });

/** A PDF signed with a key that is not ours. */
async function foreignPdf(): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-foreign-'));
  try {
    generatePdfKey(dir, 'Someone Else');
    const doc = await PDFDocument.create();
    doc.addPage();
    return await signPdf(doc, loadPdfKeyRing(dir, false).active(), { reason: 'x', signerName: 'Someone Else', location: 'x', contactInfo: '', signingTime: new Date() });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The public page that checks an uploaded PDF (文件核验), as a person without JavaScript uses it. */
describe('PDF check page (/verify/pdf)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let certificate: Buffer;
  let serial: string;
  let decision: { pdf: Buffer; number: string };
  before(async () => {
    t = await makeTestApp();
    const township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const resident = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, resident.auth, 'birth-service', birthServiceForm());
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', township.auth).send({}).expect(200);
    const done = await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', township.auth).send({ action: 'approve', reason: '材料齐全' }).expect(200);
    serial = done.body.certificateSerial;
    certificate = (await binary(request(t.app).get(`/api/v1/certificates/${serial}/certificate.pdf`).set('Authorization', resident.auth)).expect(200)).body as Buffer;
    const [grant] = (await request(t.app).get(`/api/v1/applications/${sub.id}/decisions`).set('Authorization', resident.auth).expect(200)).body.items;
    decision = { pdf: (await binary(request(t.app).get(grant.url).set('Authorization', resident.auth)).expect(200)).body as Buffer, number: grant.number };
  });
  after(() => t.close());

  /** A visitor who opened the page (for its form token), then uploads `file`. */
  async function check(file: Buffer | undefined, opts: { lang?: string; csrf?: boolean; filename?: string } = {}) {
    const v = new Visitor(t.app, opts.lang);
    const form = await v.get('/verify/pdf');
    assert.equal(form.status, 200);
    let req = request(t.app).post('/verify/pdf').set('Accept', 'text/html').set('Accept-Language', v.lang).set('Cookie', [...v.cookies].map(([k, val]) => `${k}=${val}`).join('; '));
    if (opts.csrf !== false) req = req.field('_csrf', v.csrf);
    if (file) req = req.attach('file', file, { filename: opts.filename ?? 'certificate.pdf', contentType: 'application/pdf' });
    return req;
  }

  it('when the page is opened, then it offers a multipart form with its token and a PDF file field, in Chinese or English; the verification page links to it', async () => {
    const v = new Visitor(t.app);
    const res = await v.get('/verify/pdf');
    assert.equal(res.status, 200);
    assert.match(res.text, /<form method="post" action="\/verify\/pdf" enctype="multipart\/form-data"/);
    assert.match(res.text, /name="_csrf" value="[^"]+"/);
    assert.match(res.text, /<input type="file" id="f-file" name="file" accept="application\/pdf,.pdf"/);
    assert.ok(res.text.includes('PDF 文件核验'));
    const en = await new Visitor(t.app, 'en').get('/verify/pdf');
    assert.ok(en.text.includes('Check a PDF') && en.text.includes('at most 5 MB'));
    assert.ok((await v.get('/verify')).text.includes('href="/verify/pdf"'), 'linked from the certificate verification page');
  });

  it('when our certificate PDF is uploaded, then the page says ours and intact, valid, with the holder masked; once revoked, it says revoked', async () => {
    const res = await check(certificate);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.ok(res.text.includes('签名有效：本文件由本系统签发，未被改动'), res.text);
    assert.ok(res.text.includes('证件当前状态：证件有效'));
    assert.ok(res.text.includes(serial));
    assert.match(res.text, /<dt>持证人<\/dt><dd>李\*<\/dd>/, 'the holder (the resident 李明), masked');
    assert.ok(!res.text.includes('李明') && !res.text.includes('张伟') && !res.text.includes('李娜'), 'never a name in clear');
    const en = await check(certificate, { lang: 'en' });
    assert.ok(en.text.includes('Signature valid: this file was issued by us and has not been altered'));
    assert.ok(en.text.includes('The certificate now: is valid'));

    const admin = await staffLogin(t, { role: 'admin' });
    const revoked = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, revoked.auth, 'birth-service', { ...birthServiceForm(), wife: { ...(birthServiceForm().wife as object), idNumber: uniqueIdNumber('female', 1980) } });
    const township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', township.auth).send({}).expect(200);
    const done = await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', township.auth).send({ action: 'approve', reason: '材料齐全' }).expect(200);
    const pdf = (await binary(request(t.app).get(`/api/v1/certificates/${done.body.certificateSerial}/certificate.pdf`).set('Authorization', revoked.auth)).expect(200)).body as Buffer;
    await request(t.app).post(`/api/v1/certificates/${done.body.certificateSerial}/revoke`).set('Authorization', admin.auth).send({ reason: 'fraud' }).expect(200);
    const after = await check(pdf);
    assert.ok(after.text.includes('签名有效') && after.text.includes('证件当前状态：证件已注销') && after.text.includes('注销日期'), after.text);
  });

  it('when our written decision is uploaded, then the page finds it on file by its number', async () => {
    const res = await check(decision.pdf, { filename: 'decision.pdf' });
    assert.equal(res.status, 200);
    assert.ok(res.text.includes('决定书与本局存档一致') && res.text.includes(decision.number) && res.text.includes('准予行政许可决定书'), res.text);
  });

  it('when one byte of the certificate is changed, then the page says it was altered and shows no certificate', async () => {
    const tampered = Buffer.from(certificate);
    const at = tampered.indexOf('/Title');
    tampered[at + 10] = tampered[at + 10]! ^ 0x01;
    const res = await check(tampered);
    assert.equal(res.status, 200);
    assert.ok(res.text.includes('文件已被改动：签名与内容不符'));
    assert.ok(!res.text.includes('证件当前状态') && !res.text.includes(serial));
  });

  it('when a PDF signed by someone else, or an unsigned one, is uploaded, then the page says not ours, or no signature', async () => {
    const foreign = await check(await foreignPdf());
    assert.equal(foreign.status, 200);
    assert.ok(foreign.text.includes('不是本系统签发的文件'));
    const unsigned = await check(Buffer.from(await (await PDFDocument.create()).save()));
    assert.ok(unsigned.text.includes('文件没有数字签名'));
  });

  it('when the file is not a PDF, too large or missing, then the form comes back with the problem tied to the file field', async () => {
    const gif = await check(Buffer.from('GIF89a not a pdf'), { filename: 'x.gif' });
    assert.equal(gif.status, 415);
    assert.match(gif.text, /class="error-summary"/);
    assert.match(gif.text, /<a href="#f-file">请上传PDF文件<\/a>/);
    assert.match(gif.text, /id="f-file-error"/);
    const big = await check(Buffer.alloc(5 * 1024 * 1024 + 10, 0x20), { filename: 'big.pdf' });
    assert.equal(big.status, 413);
    assert.match(big.text, /class="error-summary"/);
    const none = await check(undefined);
    assert.equal(none.status, 400);
    assert.ok(none.text.includes('请选择要核验的 PDF 文件'));
  });

  it('when the form is posted without its token, then it is refused before any check', async () => {
    const res = await check(certificate, { csrf: false });
    assert.equal(res.status, 403);
    assert.ok(!res.text.includes('签名有效'));
    assert.ok(res.text.includes('页面已过期或来源不明'));
  });
});
