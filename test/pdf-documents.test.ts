import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import forge from 'node-forge';
import request from 'supertest';
import type { ProvincialPlatform } from '../service/certificates/platform';
import type { ELicenceMetadata } from '../service/certificates/certificates.model';
import { isValidELicenceIdentifier } from '../service/certificates/elicence';
import { checkPdfSignature, generatePdfKey, loadPdfKeyRing, readDer, signPdf } from '../service/pdf/signing';
import { chinaDate } from '../service/lib/workdays';
import { makeTestApp, registerAndLogin, staffLogin, uniqueIdNumber, type TestApp } from './support/app';
import { asParty, birthServiceForm, honourForm, migrantForm, rebirthPermitForm, submittedApplication } from './support/forms';
import { decodeQr, pdfsig, pdfText, POPPLER, renderPage } from './support/pdf';

/** Records what the provincial platform was given: the adapter's test double. */
class FakePlatform implements ProvincialPlatform {
  readonly registered: Array<{ metadata: ELicenceMetadata; serial: string }> = [];
  down = false;
  async register(licence: { metadata: ELicenceMetadata; serial: string; type: string }) {
    if (this.down) throw new Error('platform unavailable');
    this.registered.push(licence);
    return { reference: `HN-${licence.serial}` };
  }
}

const binary = (req: request.Test) =>
  req.buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  });

const compact = (text: string): string => text.replace(/\s+/g, '');
const today = (): string => {
  const [y, m, d] = chinaDate(new Date()).split('-').map(Number);
  return `${y}年${m}月${d}日`;
};

describe('PDF certificates and written decisions', function () {
  this.timeout(120_000);
  let t: TestApp;
  let township: Awaited<ReturnType<typeof staffLogin>>;
  let county: Awaited<ReturnType<typeof staffLogin>>;
  const platform = new FakePlatform();
  before(async () => {
    // Locally the poppler checks run when poppler is there; in CI (.ci/run installs it) they must.
    if (process.env.CI) assert.ok(POPPLER.pdftotext && POPPLER.pdftoppm && POPPLER.pdfsig, 'CI needs poppler-utils (pdftotext, pdftoppm, pdfsig)');
    t = await makeTestApp();
    t.ctx.platform = platform;
    township = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    county = await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
  });
  after(() => t.close());

  const post = (p: string, auth: string, body: object = {}) => request(t.app).post(p).set('Authorization', auth).send(body);

  async function approved(type: string, form: Record<string, unknown>) {
    // Only parties file: the woman herself for the migrant certificate, a spouse otherwise.
    const applicant = await registerAndLogin(t.app, type === 'migrant-marriage' ? { idNumber: uniqueIdNumber('female', 1990) } : {});
    const filed = asParty(type, form, applicant.idNumber);
    const sub = await submittedApplication(t.app, applicant.auth, type, filed);
    await post(`/api/v1/applications/${sub.id}/claim`, township.auth).expect(200);
    let done = await post(`/api/v1/applications/${sub.id}/decision`, township.auth, { action: 'approve', reason: '材料齐全，符合条件' }).expect(200);
    if (done.body.status === 'pending') {
      await post(`/api/v1/applications/${sub.id}/claim`, county.auth).expect(200);
      done = await post(`/api/v1/applications/${sub.id}/decision`, county.auth, { action: 'approve', reason: '同意' }).expect(200);
    }
    assert.equal(done.body.status, 'approved');
    return { applicant, id: sub.id, number: sub.number, serial: done.body.certificateSerial as string, form: filed };
  }

  const certificatePdf = async (serial: string, auth: string): Promise<Buffer> => {
    const res = await binary(request(t.app).get(`/api/v1/certificates/${serial}/certificate.pdf`).set('Authorization', auth)).expect(200);
    assert.match(res.headers['content-type'], /application\/pdf/);
    assert.match(res.headers['content-disposition'], /^attachment; filename="certificate-/);
    return res.body as Buffer;
  };

  const CASES: Array<{ type: string; form: () => Record<string, unknown>; expect: string[]; issuer: string }> = [
    { type: 'birth-service', form: () => birthServiceForm(), expect: ['生育服务证', '张伟', '李娜', '孩次', '第二孩', '2015年6月1日', '长期有效'], issuer: '桃源县陬市镇人民政府' },
    {
      type: 'rebirth-permit',
      form: () => rebirthPermitForm(),
      expect: ['再生育证', '王强', '赵敏', '批准依据', '第四孩', '病残儿（D1）', '《湖南省人口与计划生育条例》（2021年修正）第十七条'],
      issuer: '桃源县卫生健康局',
    },
    { type: 'only-child-honour', form: () => honourForm(), expect: ['独生子女父母光荣证', '刘刚', '陈红', '子女出生日期', '2010年3月3日'], issuer: '桃源县陬市镇人民政府' },
    { type: 'migrant-marriage', form: () => migrantForm(), expect: ['流动人口婚育证明', '王芳', '未婚', '广东省东莞市', '至', '生育状况', '未生育', '避孕节育情况'], issuer: '桃源县陬市镇人民政府' },
  ];

  for (const c of CASES) {
    it(`when a ${c.type} certificate is downloaded as PDF, then its text names the people, serial, date and issuer, its signature verifies and its QR code opens the verification`, async () => {
      const { applicant, serial, form } = await approved(c.type, c.form());
      const pdf = await certificatePdf(serial, applicant.auth);

      // Signature: our key, intact, over the whole file (JS), and valid for poppler.
      const sig = checkPdfSignature(pdf, t.ctx.keys.pdf.fingerprints());
      assert.ok(sig.signed && sig.intact && sig.ours && sig.coversWholeFile, 'signed by our key, intact, nothing appended');
      if (POPPLER.pdfsig) assert.match(pdfsig(pdf), /Signature Validation: Signature is Valid\./);

      // The register entry carries the e-licence identifier; the platform was handed the licence.
      const view = await request(t.app).get(`/api/v1/certificates/${serial}`).set('Authorization', applicant.auth).expect(200);
      const identifier = view.body.eLicence.identifier as string;
      assert.ok(isValidELicenceIdentifier(identifier), identifier);
      assert.equal(view.body.eLicence.issuer.name, c.issuer);
      assert.ok(platform.registered.some((r) => r.serial === serial && r.metadata.identifier === identifier));

      if (POPPLER.pdftotext) {
        const text = compact(pdfText(pdf));
        for (const s of [...c.expect, serial, c.issuer, today(), identifier]) assert.ok(text.includes(compact(s)), `PDF text has ${s}:\n${text}`);
        const ids = [form.husband, form.wife, form.applicant].filter(Boolean).map((p) => (p as { idNumber: string }).idNumber);
        for (const id of ids) {
          assert.ok(text.includes(`${id.slice(0, 6)}********${id.slice(-4)}`), 'masked ID number printed');
          assert.ok(!text.includes(id), 'never the full ID number');
        }
      }
      if (POPPLER.pdftoppm) {
        const qr = decodeQr(renderPage(pdf, `certificate-${c.type}`));
        assert.ok(qr, 'the QR code decodes from the rendered page');
        assert.ok(qr.version <= 6, `QR version ${qr.version} ≤ 6`);
        assert.equal(qr.data, view.body.verifyUrl);
        const shortPath = new URL(qr.data).pathname;
        assert.match(shortPath, /^\/v\/[A-Z2-7]{26}$/);
        const hop = await request(t.app).get(shortPath).expect(302);
        assert.equal(hop.headers.location, `/api/v1/verify/${view.body.token}`);
        const verdict = await request(t.app).get(hop.headers.location).expect(200);
        assert.equal(verdict.body.status, 'valid');
        assert.equal(verdict.body.serial, serial);
      }
    });
  }

  it('when the honour certificate is asked for as a booklet, then the PDF is the open A5 spread of two A6 pages (the catalogue\'s size, our reading), signed, with the same text and a QR code that opens the verification', async () => {
    const { applicant, serial } = await approved('only-child-honour', honourForm());
    const res = await binary(request(t.app).get(`/api/v1/certificates/${serial}/certificate.pdf?format=booklet`).set('Authorization', applicant.auth)).expect(200);
    assert.match(res.headers['content-disposition'], /^attachment; filename="certificate-.*-booklet\.pdf"/);
    const pdf = res.body as Buffer;
    const { width, height } = (await PDFDocument.load(pdf)).getPage(0).getSize();
    const mm = (pt: number): number => Math.round((pt * 25.4) / 72);
    assert.deepEqual([mm(width), mm(height)], [210, 148], 'two 105 × 148 mm pages side by side');
    const sig = checkPdfSignature(pdf, t.ctx.keys.pdf.fingerprints());
    assert.ok(sig.signed && sig.intact && sig.ours && sig.coversWholeFile);
    if (POPPLER.pdfsig) assert.match(pdfsig(pdf), /Signature is Valid\./);
    if (POPPLER.pdftotext) {
      const text = compact(pdfText(pdf));
      for (const s of ['独生子女父母光荣证', '刘刚', '陈红', '子女出生日期', '2010年3月3日', serial, '桃源县陬市镇人民政府', today()]) assert.ok(text.includes(compact(s)), `booklet has ${s}:\n${text}`);
    }
    if (POPPLER.pdftoppm) {
      const qr = decodeQr(renderPage(pdf, 'certificate-only-child-honour-booklet'));
      assert.ok(qr && qr.version <= 6, 'the QR code decodes from the rendered spread');
      assert.match(new URL(qr.data).pathname, /^\/v\/[A-Z2-7]{26}$/);
    }
    // Only a type with a booklet edition has one; an unknown format is refused by the query's schema.
    const other = await approved('birth-service', birthServiceForm());
    const refused = await request(t.app).get(`/api/v1/certificates/${other.serial}/certificate.pdf?format=booklet`).set('Authorization', other.applicant.auth).expect(400);
    assert.equal(refused.body.errors[0].path, 'format');
    await request(t.app).get(`/api/v1/certificates/${serial}/certificate.pdf?format=letter`).set('Authorization', applicant.auth).expect(400);
  });

  it('when a signature happens to end in a zero byte, then it still verifies (the zero padding is cut at the DER length, not at the last non-zero byte)', async () => {
    // About one signature in 256 ends in 0x00: sign with successive signing times until one does.
    const key = t.ctx.keys.pdf.active();
    let found: Buffer | undefined;
    for (let second = 0; second < 4_000 && !found; second += 1) {
      const doc = await PDFDocument.create();
      doc.addPage();
      const pdf = await signPdf(doc, key, { reason: 'x', signerName: 'x', location: 'x', contactInfo: '', signingTime: new Date(Date.UTC(2026, 0, 1) + second * 1000) });
      const m = /\/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)/.exec(pdf.toString('latin1'))!;
      const der = Buffer.from(pdf.subarray(Number(m[1]), Number(m[2])).toString('latin1').replace(/[<>\s]/g, ''), 'hex');
      const rest = forge.util.createBuffer(der.toString('binary'));
      readDer(rest);
      if (der[der.length - rest.length() - 1] === 0) found = pdf;
    }
    assert.ok(found, 'a signature ending in a zero byte');
    const sig = checkPdfSignature(found, t.ctx.keys.pdf.fingerprints());
    assert.ok(sig.signed && sig.intact && sig.ours && sig.coversWholeFile);
  });

  it('when someone else asks for a certificate PDF or an unknown short link, then 404 and nothing leaks', async () => {
    const { serial } = await approved('birth-service', birthServiceForm());
    const stranger = await registerAndLogin(t.app);
    const res = await request(t.app).get(`/api/v1/certificates/${serial}/certificate.pdf`).set('Authorization', stranger.auth).expect(404);
    assert.match(res.headers['content-type'], /problem\+json/);
    await request(t.app).get(`/api/v1/certificates/${serial}/certificate.pdf`).expect(401);
    await request(t.app).get(`/v/${'A'.repeat(26)}`).expect(404);
    await request(t.app).get('/v/not-an-id').expect(404);
  });

  it('when a certificate PDF is uploaded for checking, then ours/intact/status come back; a tampered, foreign, unsigned or non-PDF upload is told apart', async () => {
    const { applicant, serial } = await approved('birth-service', birthServiceForm());
    const pdf = await certificatePdf(serial, applicant.auth);
    const check = (bytes: Buffer, name = 'c.pdf') => request(t.app).post('/api/v1/verify/pdf').attach('file', bytes, { filename: name, contentType: 'application/pdf' });

    const ok = await check(pdf).expect(200);
    assert.equal(ok.body.signature, 'ours');
    assert.equal(ok.body.intact, true);
    assert.equal(ok.body.document.serial, serial);
    assert.equal(ok.body.certificate.status, 'valid');
    assert.doesNotMatch(JSON.stringify(ok.body), /张伟|李娜/, 'no holder name in clear on a public answer');

    // One byte changed inside the signed range: the digest no longer matches.
    const tampered = Buffer.from(pdf);
    const at = tampered.indexOf('/Title');
    tampered[at + 10] = tampered[at + 10]! ^ 0x01;
    const broken = await check(tampered).expect(200);
    assert.equal(broken.body.signature, 'broken');
    assert.equal(broken.body.intact, false);
    assert.equal(broken.body.certificate, null);

    // Appended after signing (an incremental update): the signature no longer covers the file.
    const appended = await check(Buffer.concat([pdf, Buffer.from('\n1 0 obj\n<< >>\nendobj\n%%EOF\n')])).expect(200);
    assert.equal(appended.body.signature, 'broken');

    // Signed, but by a key that is not ours.
    const foreignDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-foreign-'));
    generatePdfKey(foreignDir, 'Someone Else');
    const foreignDoc = await PDFDocument.create();
    foreignDoc.addPage();
    const foreign = await signPdf(foreignDoc, loadPdfKeyRing(foreignDir, false).active(), { reason: 'x', signerName: 'x', location: 'x', contactInfo: '', signingTime: new Date() });
    assert.equal((await check(foreign).expect(200)).body.signature, 'not_ours');

    const unsigned = Buffer.from(await (await PDFDocument.create()).save());
    assert.equal((await check(unsigned).expect(200)).body.signature, 'none');
    const notPdf = await check(Buffer.from('GIF89a not a pdf'), 'x.gif').expect(415);
    assert.match(notPdf.headers['content-type'], /problem\+json/);
    await request(t.app).post('/api/v1/verify/pdf').attach('file', Buffer.alloc(5 * 1024 * 1024 + 10, 0x20), 'big.pdf').expect(413);
    await request(t.app).post('/api/v1/verify/pdf').set('Content-Type', 'application/json').send({ file: 'x' }).expect(415);

    // Revoked: the same intact PDF now reports the revocation.
    const admin = await staffLogin(t, { role: 'admin' });
    await post(`/api/v1/certificates/${serial}/revoke`, admin.auth, { reason: 'fraud' }).expect(200);
    assert.equal((await check(pdf).expect(200)).body.certificate.status, 'revoked');
    const revokedPdf = await certificatePdf(serial, applicant.auth);
    if (POPPLER.pdftotext) assert.ok(compact(pdfText(revokedPdf)).includes('已注销'));
  });

  it('when an officer refuses, returns and approves, then each decision is a numbered, signed PDF kept with the case, for the applicant and the officer only', async () => {
    // Refusal: reasons and the rights of reconsideration (60 days) and suit (6 months).
    const refused = await registerAndLogin(t.app);
    const a = await submittedApplication(t.app, refused.auth, 'birth-service', birthServiceForm());
    await post(`/api/v1/applications/${a.id}/claim`, township.auth).expect(200);
    await post(`/api/v1/applications/${a.id}/decision`, township.auth, { action: 'reject', reason: '婚姻登记信息与民政部门记录不一致' }).expect(200);
    const list = await request(t.app).get(`/api/v1/applications/${a.id}/decisions`).set('Authorization', refused.auth).expect(200);
    assert.equal(list.body.items.length, 1);
    const refusal = list.body.items[0];
    assert.equal(refusal.kind, 'refusal');
    assert.match(refusal.number, /^桃卫许不字〔\d{4}〕第\d{6}号$/);
    const file = (await binary(request(t.app).get(refusal.url).set('Authorization', refused.auth)).expect(200)).body as Buffer;
    assert.equal(crypto.createHash('sha256').update(file).digest('hex'), refusal.sha256, 'the file kept with the case');
    const officerCopy = (await binary(request(t.app).get(refusal.url).set('Authorization', township.auth)).expect(200)).body as Buffer;
    assert.deepEqual(officerCopy, file);
    const stranger = await registerAndLogin(t.app);
    await request(t.app).get(refusal.url).set('Authorization', stranger.auth).expect(404);
    await request(t.app).get(`/api/v1/applications/${a.id}/decisions`).set('Authorization', stranger.auth).expect(404);
    const sig = checkPdfSignature(file, t.ctx.keys.pdf.fingerprints());
    assert.ok(sig.signed && sig.intact && sig.ours);
    if (POPPLER.pdfsig) assert.match(pdfsig(file), /Signature is Valid\./);
    if (POPPLER.pdftotext) {
      const text = compact(pdfText(file));
      for (const s of ['不予行政许可决定书', refusal.number, '张伟、李娜', '婚姻登记信息与民政部门记录不一致', '六十日内', '桃源县人民政府申请行政复议', '六个月内', '桃源县人民法院', '桃源县陬市镇人民政府', a.number, today()]) {
        assert.ok(text.includes(compact(s)), `refusal has ${s}:\n${text}`);
      }
    }
    if (POPPLER.pdftoppm) renderPage(file, 'decision-refusal', 80);
    const checked = await request(t.app).post('/api/v1/verify/pdf').attach('file', file, 'd.pdf').expect(200);
    assert.equal(checked.body.signature, 'ours');
    assert.equal(checked.body.decision.onFile, true);
    assert.equal(checked.body.decision.sameFile, true);
    assert.equal(checked.body.decision.number, refusal.number);

    // Return for supplement: the missing kinds by name and the deadline.
    const returned = await registerAndLogin(t.app);
    const b = await submittedApplication(t.app, returned.auth, 'birth-service', birthServiceForm());
    await post(`/api/v1/applications/${b.id}/claim`, township.auth).expect(200);
    await post(`/api/v1/applications/${b.id}/decision`, township.auth, { action: 'return', reason: '照片不清晰', missing: ['photo', 'household-register'] }).expect(200);
    const [notice] = (await request(t.app).get(`/api/v1/applications/${b.id}/decisions`).set('Authorization', township.auth).expect(200)).body.items;
    assert.equal(notice.kind, 'supplement');
    if (POPPLER.pdftotext) {
      const noticePdf = (await binary(request(t.app).get(notice.url).set('Authorization', returned.auth)).expect(200)).body as Buffer;
      const text = compact(pdfText(noticePdf));
      for (const s of ['补正材料通知书', '夫妻二寸合影照片两张', '户口簿', '一次性告知', '前补正', '照片不清晰']) assert.ok(text.includes(compact(s)), `notice has ${s}:\n${text}`);
      if (POPPLER.pdftoppm) renderPage(noticePdf, 'decision-supplement', 80);
    }

    // Approval: the grant, with the certificate's serial; numbers count per kind.
    const { applicant, id, serial } = await approved('birth-service', birthServiceForm());
    const items = (await request(t.app).get(`/api/v1/applications/${id}/decisions`).set('Authorization', applicant.auth).expect(200)).body.items;
    assert.deepEqual(items.map((d: { kind: string }) => d.kind), ['approval']);
    assert.match(items[0].number, /^桃卫许准字〔\d{4}〕第\d{6}号$/);
    if (POPPLER.pdftotext) {
      const grant = (await binary(request(t.app).get(items[0].url).set('Authorization', applicant.auth)).expect(200)).body as Buffer;
      const text = compact(pdfText(grant));
      for (const s of ['准予行政许可决定书', serial, '第三十八条第一款']) assert.ok(text.includes(compact(s)), `grant has ${s}:\n${text}`);
      if (POPPLER.pdftoppm) renderPage(grant, 'decision-approval', 80);
    }
    // Stored once: the listing read twice writes nothing more.
    assert.equal(await t.ctx.models.Decision.countDocuments({ applicationId: id }), 1);
    assert.equal(await t.ctx.models.DecisionFile.countDocuments({ _id: items[0].id }), 1);
    // Nothing personal in clear in what this feature stores.
    for (const name of ['decisions', 'decision_files', 'certificate_links', 'certificates']) {
      const dump = JSON.stringify(await t.conn.db!.collection(name).find({}).toArray());
      for (const person of ['张伟', '李娜', '婚姻登记信息与民政部门记录不一致']) assert.ok(!dump.includes(person), `${name} holds ${person[0]}… in clear`);
    }
  });

  it('when one address checks PDFs too often, then it is rate-limited (429) before any parsing', async () => {
    const c = await makeTestApp();
    try {
      const unsigned = Buffer.from(await (await PDFDocument.create()).save());
      for (let i = 0; i < 20; i += 1) await request(c.app).post('/api/v1/verify/pdf').attach('file', unsigned, 'u.pdf').expect(200);
      const limited = await request(c.app).post('/api/v1/verify/pdf').attach('file', unsigned, 'u.pdf').expect(429);
      assert.match(limited.headers['content-type'], /problem\+json/);
    } finally {
      await c.close();
    }
  });

  it('when the provincial platform is down, then the certificate is issued all the same and the failure is recorded on it', async () => {
    platform.down = true;
    try {
      const { serial } = await approved('migrant-marriage', migrantForm());
      const entry = await t.ctx.models.Certificate.findOne({ serial }).lean();
      assert.equal(entry?.platform?.status, 'failed');
      assert.ok(entry?.eLicence?.identifier);
    } finally {
      platform.down = false;
    }
  });
});
