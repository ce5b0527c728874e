import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import request from 'supertest';
import { EICAR } from '../service/documents/scanner';
import { FixedClock } from '../service/lib/clock';
import { makeTestApp, registerAndLogin, type TestApp } from './support/app';
import { BIRTH_SERVICE_KINDS, birthServiceForm, draft, filesUnder, JPEG, PDF, PNG, readyBirthService, sha256, upload } from './support/forms';

const BOUNDARY = '----fpc-test-boundary-7MA4YWxkTrZu0gW';

type Part = { name: string; value: string } | { name: string; filename: string; contentType: string; bytes: Buffer };

/** A multipart body written by hand, so that each test controls every part and its order. */
function multipart(parts: Part[], close = true): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      'filename' in part ? `form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: ${part.contentType}` : `form-data; name="${part.name}"`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n\r\n`));
    chunks.push('filename' in part ? part.bytes : Buffer.from(part.value));
    chunks.push(Buffer.from('\r\n'));
  }
  if (close) chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

const pdfPart = (bytes: Buffer = PDF, filename = 'scan.pdf'): Part => ({ name: 'file', filename, contentType: 'application/pdf', bytes });

/** A supertest parser that keeps a download's bytes as they came. */
const binary = (res: request.Response, cb: (err: Error | null, body: Buffer) => void) => {
  const stream = res as unknown as http.IncomingMessage;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => cb(null, Buffer.concat(chunks)));
};

/** Polls until `check` holds or `ms` pass; answers whether it held. No fixed sleeps. */
async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}

describe('Documents: uploads, limits, types, malware, downloads and deletion', function () {
  this.timeout(60_000);
  const clock = new FixedClock('2026-02-10T02:00:00Z');
  let t: TestApp;
  let applicant: Awaited<ReturnType<typeof registerAndLogin>>;
  before(async () => {
    t = await makeTestApp({ clock });
    applicant = await registerAndLogin(t.app);
  });
  after(() => t.close());

  const uploads = () => filesUnder(t.ctx.config.uploadsDir);
  const stored = (id: string) => t.ctx.models.Application.findById(id).lean();
  const sendMultipart = (id: string, body: Buffer, auth = applicant.auth) =>
    request(t.app)
      .post(`/api/v1/applications/${id}/documents`)
      .set('Authorization', auth)
      .set('Content-Type', `multipart/form-data; boundary=${BOUNDARY}`)
      .send(body);

  /** A fresh draft and what must not change when an upload to it is refused. */
  async function arrange() {
    const created = await draft(t.app, applicant.auth, 'birth-service', birthServiceForm());
    return { id: created.id, before: { app: await stored(created.id), files: uploads() } };
  }
  async function assertNothingStored(id: string, before: Awaited<ReturnType<typeof arrange>>['before']) {
    assert.deepEqual(await stored(id), before.app, 'the application is unchanged');
    assert.ok(await eventually(() => JSON.stringify(uploads()) === JSON.stringify(before.files)), `no file left behind: ${uploads().join(', ')}`);
  }

  describe('accepted uploads', () => {
    it('when a PDF, a PNG and a JPEG are uploaded, then 201 each with size and SHA-256, recorded on the application and stored byte for byte under a generated name', async () => {
      const { id, before } = await arrange();
      const sent: Array<[string, Buffer, string, string]> = [
        ['marriage-certificate', PDF, 'marriage.pdf', 'application/pdf'],
        ['photo', PNG, 'photo.png', 'image/png'],
        ['household-register', JPEG, 'hukou.JPG', 'image/jpeg'],
      ];
      for (const [kind, bytes, name, mime] of sent) {
        const res = await upload(t.app, applicant.auth, id, kind, bytes, name, mime).expect(201);
        assert.equal(res.body.kind, kind);
        assert.equal(res.body.mime, mime);
        assert.equal(res.body.size, bytes.length);
        assert.equal(res.body.sha256, sha256(bytes));
        assert.equal(res.body.fileName, name);
      }
      const app = await stored(id);
      assert.equal(app?.documentCount, 3);
      assert.deepEqual(app?.documents.map((d) => d.kind), sent.map(([kind]) => kind));
      const added = uploads().filter((f) => !before.files.includes(f));
      assert.equal(added.length, 3);
      for (const doc of app!.documents) {
        assert.match(doc.storageId, /^[0-9a-f]{32}$/);
        const file = path.join(doc.storageId.slice(0, 2), doc.storageId);
        assert.ok(added.includes(file), `${file} is on disk`);
        assert.equal(sha256(fs.readFileSync(path.join(t.ctx.config.uploadsDir, file))), doc.sha256);
      }
    });

    it("when a file is named with ../ and markup, then it is stored under a generated name and downloads as a sanitised attachment with nosniff, byte for byte", async () => {
      const { id, before } = await arrange();
      const bytes = Buffer.concat([PDF, crypto.randomBytes(256)]);
      const res = await sendMultipart(id, multipart([{ name: 'kind', value: 'photo' }, pdfPart(bytes, '../../../etc/<script>alert(1)</script>.pdf')])).expect(201);
      assert.equal(res.body.fileName, 'script_.pdf');

      const doc = (await stored(id))!.documents[0]!;
      assert.equal(doc.fileName, 'script_.pdf');
      const added = uploads().filter((f) => !before.files.includes(f));
      assert.deepEqual(added, [path.join(doc.storageId.slice(0, 2), doc.storageId)]);
      assert.ok(!added.some((f) => f.includes('script') || f.includes('..')), 'the client name never reaches a path');
      assert.deepEqual(fs.readdirSync(path.dirname(t.ctx.config.uploadsDir)).filter((f) => f.includes('script')), [], 'nothing written beside the uploads folder');

      const download = await request(t.app)
        .get(`/api/v1/applications/${id}/documents/${doc.id}`)
        .set('Authorization', applicant.auth)
        .buffer(true)
        .parse(binary)
        .expect(200);
      assert.match(download.headers['content-disposition'], /^attachment; filename="?script_\.pdf"?$/);
      assert.equal(download.headers['x-content-type-options'], 'nosniff');
      assert.equal(download.headers['content-type'], 'application/pdf');
      assert.equal(download.headers['cache-control'], 'no-store');
      assert.equal(sha256(download.body as Buffer), sha256(bytes));
    });
  });

  describe('refused uploads leave nothing behind', () => {
    it('when the file is larger than 10 MB, then 413 and no file is left', async () => {
      const { id, before } = await arrange();
      const big = Buffer.concat([PDF, Buffer.alloc(10 * 1024 * 1024)]);
      const res = await sendMultipart(id, multipart([{ name: 'kind', value: 'photo' }, pdfPart(big)])).expect(413);
      assert.equal(res.body.code, 'payload_too_large');
      assert.match(res.body.detail, /LIMIT_FILE_SIZE/);
      await assertNothingStored(id, before);
    });

    it('when two files come in one request, then 413 and neither is kept', async () => {
      const { id, before } = await arrange();
      const res = await sendMultipart(id, multipart([pdfPart(), pdfPart(PDF, 'second.pdf'), { name: 'kind', value: 'photo' }])).expect(413);
      assert.equal(res.body.code, 'payload_too_large');
      assert.match(res.body.detail, /LIMIT_FILE_COUNT/);
      await assertNothingStored(id, before);
    });

    it('when there are too many fields or too many parts, then 413 and the file already received is removed', async () => {
      const { id, before } = await arrange();
      const fields = await sendMultipart(id, multipart([pdfPart(), { name: 'kind', value: 'photo' }, { name: 'a', value: '1' }, { name: 'b', value: '2' }])).expect(413);
      assert.match(fields.body.detail, /LIMIT_FIELD_COUNT/);
      await assertNothingStored(id, before);

      // Parts are capped at 3 = 2 fields + 1 file, so a fourth part trips the field or file limit
      // first; the part limit is the backstop behind them. Either way: 413 and nothing kept.
      const parts = await sendMultipart(
        id,
        multipart([pdfPart(), { name: 'kind', value: 'photo' }, { name: 'a', value: '1' }, { name: 'extra', filename: 'x.pdf', contentType: 'application/pdf', bytes: PDF }]),
      ).expect(413);
      assert.match(parts.body.detail, /LIMIT_(PART|FILE|FIELD)_COUNT/);
      await assertNothingStored(id, before);
    });

    it('when a PDF is named .exe or PNG bytes are named .pdf, then 415 and nothing is stored', async () => {
      const { id, before } = await arrange();
      const exe = await upload(t.app, applicant.auth, id, 'photo', PDF, 'setup.exe', 'application/octet-stream').expect(415);
      assert.equal(exe.body.code, 'unsupported_media_type');
      const png = await upload(t.app, applicant.auth, id, 'photo', PNG, 'photo.pdf', 'application/pdf').expect(415);
      assert.equal(png.body.code, 'unsupported_media_type');
      const text = await upload(t.app, applicant.auth, id, 'photo', Buffer.from('just text'), 'notes.pdf').expect(415);
      assert.equal(text.body.code, 'unsupported_media_type');
      await assertNothingStored(id, before);
    });

    it('when the file carries the EICAR test signature, then 422 malware_detected and nothing is stored', async () => {
      const { id, before } = await arrange();
      const infected = Buffer.concat([PDF, Buffer.from(EICAR, 'latin1'), Buffer.from('\n%%EOF\n')]);
      const res = await upload(t.app, applicant.auth, id, 'photo', infected, 'scan.pdf').expect(422);
      assert.equal(res.body.code, 'malware_detected');
      await assertNothingStored(id, before);
    });

    it('when the kind is missing or not one of the type, or the file is empty, then 400 and nothing is stored', async () => {
      const { id, before } = await arrange();
      const noKind = await sendMultipart(id, multipart([pdfPart()])).expect(400);
      assert.equal(noKind.body.errors[0].path, 'kind');
      const wrongKind = await upload(t.app, applicant.auth, id, 'disability-appraisal').expect(400);
      assert.equal(wrongKind.body.errors[0].path, 'kind');
      const empty = await upload(t.app, applicant.auth, id, 'photo', Buffer.alloc(0)).expect(400);
      assert.equal(empty.body.errors[0].path, 'file');
      await assertNothingStored(id, before);
    });

    it('when the application is already submitted, then an upload is 409 and nothing is stored', async () => {
      const ready = await readyBirthService(t.app, applicant.auth);
      await request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', applicant.auth).send({}).expect(200);
      const before = { app: await stored(ready.id), files: uploads() };
      const res = await upload(t.app, applicant.auth, ready.id, 'photo').expect(409);
      assert.equal(res.body.code, 'conflict');
      await assertNothingStored(ready.id, before);
    });
  });

  describe('truncated and aborted multipart bodies', () => {
    let server: http.Server;
    let port: number;
    before(async () => {
      server = http.createServer(t.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    /** Starts an upload whose body promises more than it sends; answers the request and its response (if any). */
    function partialUpload(id: string, body: Buffer, declaredLength: number | undefined) {
      const headers: http.OutgoingHttpHeaders = {
        Authorization: applicant.auth,
        'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
      };
      if (declaredLength !== undefined) headers['Content-Length'] = declaredLength;
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: `/api/v1/applications/${id}/documents`, headers });
      const response = new Promise<{ status: number; body: string } | 'aborted'>((resolve) => {
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', () => resolve('aborted'));
      });
      req.write(body);
      return { req, response };
    }

    const head = () =>
      multipart([{ name: 'kind', value: 'photo' }, pdfPart(Buffer.concat([PDF, crypto.randomBytes(64 * 1024)]))], false).subarray(0, 40 * 1024);

    it('when the client disconnects in the middle of the file, then the service keeps serving and no partial file is left', async () => {
      const { id, before } = await arrange();
      const { req, response } = partialUpload(id, head(), 200 * 1024);
      assert.ok(await eventually(() => uploads().some((f) => f.endsWith('.part'))), 'the upload had started writing a staging file');
      req.destroy();
      await response;

      const health = await request(t.app).get('/healthz').expect(200);
      assert.equal(health.body.status, 'ok');
      await assertNothingStored(id, before);
      assert.ok(!uploads().some((f) => f.endsWith('.part')), 'no staging file either');
    });

    it('when the body simply ends before the closing boundary, then 400 and no partial file is left', async () => {
      const { id, before } = await arrange();
      const { req, response } = partialUpload(id, head(), undefined);
      req.end();
      const res = await response;
      assert.notEqual(res, 'aborted');
      assert.equal((res as { status: number }).status, 400);
      assert.equal(JSON.parse((res as { body: string }).body).code, 'bad_request');
      await request(t.app).get('/healthz').expect(200);
      await assertNothingStored(id, before);
    });
  });

  describe('deleting', () => {
    it('when the applicant deletes a document of a draft, then 204, it is gone from the application and from disk, and the history says so', async () => {
      const { id } = await arrange();
      const docId = (await upload(t.app, applicant.auth, id, 'photo').expect(201)).body.id as string;
      const doc = (await stored(id))!.documents[0]!;
      const file = path.join(t.ctx.config.uploadsDir, doc.storageId.slice(0, 2), doc.storageId);
      assert.ok(fs.existsSync(file));

      await request(t.app).delete(`/api/v1/applications/${id}/documents/${docId}`).set('Authorization', applicant.auth).expect(204);
      const app = await stored(id);
      assert.deepEqual(app?.documents, []);
      assert.equal(app?.documentCount, 0);
      assert.deepEqual(app?.history.map((h) => h.action), ['create', 'upload', 'remove-document']);
      assert.ok(!fs.existsSync(file), 'the file is gone from disk');
      await request(t.app).get(`/api/v1/applications/${id}/documents/${docId}`).set('Authorization', applicant.auth).expect(404);
    });

    it('when the application is submitted, then deleting a document is 409 and the file stays', async () => {
      const ready = await readyBirthService(t.app, applicant.auth);
      await request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', applicant.auth).send({}).expect(200);
      const before = { app: await stored(ready.id), files: uploads() };
      const doc = before.app!.documents[0]!;
      const res = await request(t.app).delete(`/api/v1/applications/${ready.id}/documents/${doc.id}`).set('Authorization', applicant.auth).expect(409);
      assert.equal(res.body.code, 'conflict');
      assert.equal(before.app!.documents.length, BIRTH_SERVICE_KINDS.length);
      await assertNothingStored(ready.id, before);
    });
  });
});
