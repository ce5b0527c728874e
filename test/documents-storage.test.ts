import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express, { type ErrorRequestHandler } from 'express';
import multer from 'multer';
import request from 'supertest';
import { ClamdScanner, EICAR, EicarSignatureScanner } from '../service/documents/scanner';
import { sniff } from '../service/documents/sniff';
import { DiskFileStore, receivedUpload, uploadEngine } from '../service/documents/storage';

const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n', 'latin1');
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0rest-of-jpeg')]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('\0\0\0\rIHDR...')]);

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-docs-'));
}

/** Every file under dir, relative, so a test can assert exactly what is on disk. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function listAll(store: DiskFileStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  return ids;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('document storage', () => {
  describe('DiskFileStore', () => {
    let dir: string;
    let store: DiskFileStore;
    beforeEach(() => {
      dir = tempDir();
      store = new DiskFileStore(dir);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('when a staged file is committed, then it is stored under its generated id in a shard folder', async () => {
      const staged = await store.create();
      assert.match(staged.id, /^[0-9a-f]{32}$/);
      fs.writeFileSync(staged.stagingPath, PDF);
      assert.deepEqual(filesUnder(dir), [path.join(staged.id.slice(0, 2), `${staged.id}.part`)]);
      assert.equal(await store.stat(staged.id), undefined, 'a staged file is not visible yet');
      assert.deepEqual(await listAll(store), []);

      await store.commit(staged.id);
      assert.deepEqual(filesUnder(dir), [path.join(staged.id.slice(0, 2), staged.id)]);
      assert.equal((await store.stat(staged.id))?.size, PDF.length);
      assert.deepEqual(await readAll(await store.open(staged.id)), PDF);
      assert.deepEqual(await listAll(store), [staged.id]);
    });

    it('when two uploads are created, then their ids differ', async () => {
      const [a, b] = await Promise.all([store.create(), store.create()]);
      assert.notEqual(a.id, b.id);
    });

    it('when a file is removed, then it is gone, and removing again is harmless', async () => {
      const staged = await store.create();
      fs.writeFileSync(staged.stagingPath, PNG);
      await store.commit(staged.id);
      await store.remove(staged.id);
      await store.remove(staged.id);
      assert.deepEqual(filesUnder(dir), []);
      assert.equal(await store.stat(staged.id), undefined);
      await assert.rejects(store.open(staged.id), { code: 'not_found' });
    });

    it('when an id is not one of ours, then nothing outside the folder is touched', async () => {
      const outside = path.join(dir, '..', `fpc-outside-${crypto.randomBytes(4).toString('hex')}`);
      fs.writeFileSync(outside, 'keep me');
      try {
        await assert.rejects(store.open('../' + path.basename(outside)), { code: 'not_found' });
        await assert.rejects(store.remove('../' + path.basename(outside)), { code: 'not_found' });
        assert.equal(fs.readFileSync(outside, 'utf8'), 'keep me');
      } finally {
        fs.rmSync(outside);
      }
    });

    it('when staging files are left over from a crash, then the sweep removes the stale ones only', async () => {
      const stale = await store.create();
      const fresh = await store.create();
      const kept = await store.create();
      for (const s of [stale, fresh, kept]) fs.writeFileSync(s.stagingPath, JPEG);
      await store.commit(kept.id);
      const hourAgo = new Date(Date.now() - 3_600_000);
      fs.utimesSync(stale.stagingPath, hourAgo, hourAgo);
      fs.writeFileSync(path.join(dir, '.gitkeep'), '');

      const removed = await store.sweepStaging(new Date(Date.now() - 60_000));
      assert.deepEqual(removed, [stale.id]);
      assert.deepEqual(
        filesUnder(dir),
        ['.gitkeep', path.join(fresh.id.slice(0, 2), `${fresh.id}.part`), path.join(kept.id.slice(0, 2), kept.id)].sort(),
      );
      assert.deepEqual(await listAll(store), [kept.id]);
    });
  });

  describe('multer upload engine', () => {
    let dir: string;
    let store: DiskFileStore;
    let app: express.Express;
    beforeEach(() => {
      dir = tempDir();
      store = new DiskFileStore(dir);
      const upload = multer({ storage: uploadEngine(store), limits: { fileSize: 4096, files: 1, fields: 2, parts: 3 } });
      app = express();
      app.post('/upload', upload.single('file'), (req, res) => {
        const received = receivedUpload(req.file!);
        res.json({ ...received, head: received.head.toString('hex') });
      });
      const onError: ErrorRequestHandler = (err, _req, res, _next) => {
        res.status(err instanceof multer.MulterError ? 400 : 500).json({ code: err.code ?? 'error' });
      };
      app.use(onError);
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("when a file is uploaded, then it is staged under a generated name (never the client's) with the right hash and size", async () => {
      const res = await request(app).post('/upload').attach('file', PDF, '../../etc/passwd.pdf').expect(200);
      assert.match(res.body.id, /^[0-9a-f]{32}$/);
      assert.equal(res.body.size, PDF.length);
      assert.equal(res.body.sha256, crypto.createHash('sha256').update(PDF).digest('hex'));
      assert.equal(res.body.head, PDF.subarray(0, 8).toString('hex'));
      assert.equal(res.body.originalName, 'passwd.pdf'); // busboy drops the directories
      assert.equal(res.body.stagingPath, path.join(dir, res.body.id.slice(0, 2), `${res.body.id}.part`));
      assert.deepEqual(filesUnder(dir), [path.join(res.body.id.slice(0, 2), `${res.body.id}.part`)]);
      assert.deepEqual(fs.readFileSync(res.body.stagingPath), PDF);
    });

    it('when a file spans many chunks, then hash and size cover every byte', async () => {
      const big = crypto.randomBytes(4000);
      const res = await request(app).post('/upload').attach('file', big, 'scan.png').expect(200);
      assert.equal(res.body.size, big.length);
      assert.equal(res.body.sha256, crypto.createHash('sha256').update(big).digest('hex'));
    });

    it('when a file exceeds the size limit, then multer refuses it and no file is left', async () => {
      const res = await request(app).post('/upload').attach('file', crypto.randomBytes(5000), 'big.pdf').expect(400);
      assert.equal(res.body.code, 'LIMIT_FILE_SIZE');
      await waitFor(() => filesUnder(dir).length === 0, 'the oversize file to be removed');
    });

    it('when too many files are sent, then multer refuses and no file is left', async () => {
      const res = await request(app).post('/upload').attach('file', PDF, 'a.pdf').attach('file', PDF, 'b.pdf').expect(400);
      assert.ok(['LIMIT_FILE_COUNT', 'LIMIT_UNEXPECTED_FILE'].includes(res.body.code), res.body.code);
      await waitFor(() => filesUnder(dir).length === 0, 'the files to be removed');
    });

    it('when the client aborts mid-upload, then no partial file remains and the server keeps serving', async () => {
      const server = http.createServer(app).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      try {
        const { port } = server.address() as net.AddressInfo;
        const boundary = 'fpc-boundary';
        const client = http.request({
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/upload',
          headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': '100000' },
        });
        client.on('error', () => {});
        client.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.pdf"\r\n\r\n`);
        client.write(PDF);
        await waitFor(() => filesUnder(dir).length === 1, 'the upload to be staged');
        client.destroy();
        await waitFor(() => filesUnder(dir).length === 0, 'the partial file to be removed');

        const after = await request(server).post('/upload').attach('file', PNG, 'ok.png').expect(200);
        assert.equal(after.body.size, PNG.length);
      } finally {
        server.close();
      }
    });
  });

  describe('sniff', () => {
    const cases: Array<[string, Buffer, string, string]> = [
      ['a PDF named .pdf', PDF, 'birth-record.pdf', 'application/pdf'],
      ['a PDF named .PDF', PDF, 'SCAN.PDF', 'application/pdf'],
      ['a JPEG named .jpg', JPEG, 'photo.jpg', 'image/jpeg'],
      ['a JPEG named .JPEG', JPEG, 'photo.JPEG', 'image/jpeg'],
      ['a PNG named .png', PNG, '户口本.png', 'image/png'],
      ['a PDF whose name carries a path', PDF, '..\\..\\windows\\report.pdf', 'application/pdf'],
    ];
    for (const [what, bytes, name, type] of cases) {
      it(`when ${what}, then it is ${type}`, () => {
        assert.deepEqual(sniff(bytes.subarray(0, 8), name), { ok: true, mediaType: type, extension: path.extname(name).toLowerCase() });
      });
    }

    const refusals: Array<[string, Buffer, string, string]> = [
      ['PDF bytes named .exe', PDF, 'form.exe', 'extension_mismatch'],
      ['PNG bytes named .pdf', PNG, 'scan.pdf', 'extension_mismatch'],
      ['JPEG bytes named .png', JPEG, 'photo.png', 'extension_mismatch'],
      ['a PDF with no extension', PDF, 'README', 'extension_mismatch'],
      ['a PDF named only ".pdf"', PDF, '.pdf', 'extension_mismatch'],
      ['a PDF named .pdf.exe', PDF, 'form.pdf.exe', 'extension_mismatch'],
      ['text named .pdf', Buffer.from('hello, this is not a pdf'), 'letter.pdf', 'unrecognised_content'],
      ['an executable named .pdf', Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), 'form.pdf', 'unrecognised_content'],
      ['an empty file', Buffer.alloc(0), 'empty.pdf', 'unrecognised_content'],
      ['a PDF signature missing its dash', Buffer.from('%PDF1.7', 'latin1'), 'a.pdf', 'unrecognised_content'],
    ];
    for (const [what, bytes, name, reason] of refusals) {
      it(`when ${what}, then it is refused (${reason})`, () => {
        const result = sniff(bytes.subarray(0, 8), name);
        assert.equal(result.ok, false);
        assert.equal(!result.ok && result.reason, reason);
        assert.ok(!result.ok && result.message.zh && result.message.en);
      });
    }
  });

  describe('malware scanners', () => {
    let dir: string;
    beforeEach(() => {
      dir = tempDir();
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function file(name: string, content: Buffer | string): string {
      const p = path.join(dir, name);
      fs.writeFileSync(p, content);
      return p;
    }

    it('when a file is the EICAR test file, then it is flagged', async () => {
      assert.deepEqual(await new EicarSignatureScanner().scan(file('eicar.pdf', EICAR)), { clean: false, signature: 'Eicar-Test-Signature' });
    });

    it('when the EICAR string straddles two read chunks, then it is still flagged', async () => {
      const padded = Buffer.concat([Buffer.alloc(64 * 1024 - 20, 0x20), Buffer.from(EICAR, 'latin1'), Buffer.alloc(100, 0x20)]);
      assert.equal((await new EicarSignatureScanner().scan(file('padded.pdf', padded))).clean, false);
    });

    it('when a file is an ordinary document, then it passes', async () => {
      assert.deepEqual(await new EicarSignatureScanner().scan(file('clean.pdf', PDF)), { clean: true });
      assert.deepEqual(await new EicarSignatureScanner().scan(file('big.png', crypto.randomBytes(200_000))), { clean: true });
    });

    describe('ClamdScanner against a fake clamd speaking INSTREAM', () => {
      interface Received {
        command: string;
        chunkLengths: number[];
        body: Buffer;
      }

      /** Parses the framing strictly and answers like clamd; records what it received. */
      function fakeClamd(answer: (body: Buffer) => string): { server: net.Server; received: Received[] } {
        const received: Received[] = [];
        const server = net.createServer((socket) => {
          let buffer = Buffer.alloc(0);
          const record: Received = { command: '', chunkLengths: [], body: Buffer.alloc(0) };
          socket.on('data', (data) => {
            buffer = Buffer.concat([buffer, data]);
            if (!record.command) {
              const nul = buffer.indexOf(0);
              if (nul < 0) return;
              record.command = buffer.subarray(0, nul).toString('latin1');
              buffer = buffer.subarray(nul + 1);
            }
            while (buffer.length >= 4) {
              const length = buffer.readUInt32BE(0);
              if (buffer.length < 4 + length) return;
              record.chunkLengths.push(length);
              record.body = Buffer.concat([record.body, buffer.subarray(4, 4 + length)]);
              buffer = buffer.subarray(4 + length);
              if (length === 0) {
                received.push(record);
                socket.end(`${answer(record.body)}\0`);
                return;
              }
            }
          });
        });
        return { server, received };
      }

      const clamdAnswer = (body: Buffer) => (body.includes(Buffer.from(EICAR, 'latin1')) ? 'stream: Win.Test.EICAR_HDB-1 FOUND' : 'stream: OK');

      async function listen(server: net.Server, where: number | string): Promise<void> {
        await new Promise<void>((resolve) => (typeof where === 'string' ? server.listen(where, resolve) : server.listen(where, '127.0.0.1', resolve)));
      }

      it('when a clean file is streamed over TCP, then the framing is exact and the answer is clean', async () => {
        const { server, received } = fakeClamd(clamdAnswer);
        await listen(server, 0);
        try {
          const content = crypto.randomBytes(10_000);
          const scanner = new ClamdScanner({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, { chunkBytes: 4096 });
          assert.deepEqual(await scanner.scan(file('doc.pdf', content)), { clean: true });
          assert.equal(received.length, 1);
          assert.equal(received[0]!.command, 'zINSTREAM');
          assert.deepEqual(received[0]!.chunkLengths, [4096, 4096, 1808, 0]);
          assert.deepEqual(received[0]!.body, content);
        } finally {
          server.close();
        }
      });

      it('when clamd finds a signature over a unix socket, then the scan reports it', async () => {
        const { server } = fakeClamd(clamdAnswer);
        const socketPath = path.join(dir, 'clamd.sock');
        await listen(server, socketPath);
        try {
          const result = await new ClamdScanner({ socketPath }).scan(file('eicar.pdf', EICAR));
          assert.deepEqual(result, { clean: false, signature: 'Win.Test.EICAR_HDB-1' });
        } finally {
          server.close();
        }
      });

      it('when clamd answers with an error, then the scan fails rather than passing the file', async () => {
        const { server } = fakeClamd(() => 'INSTREAM size limit exceeded. ERROR');
        await listen(server, 0);
        try {
          const scanner = new ClamdScanner({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port });
          await assert.rejects(scanner.scan(file('doc.pdf', PDF)), /size limit exceeded/);
        } finally {
          server.close();
        }
      });

      it('when clamd is not there or does not answer, then the scan fails', async () => {
        await assert.rejects(new ClamdScanner({ socketPath: path.join(dir, 'missing.sock') }).scan(file('a.pdf', PDF)), /ENOENT|ECONNREFUSED/);
        const sockets: net.Socket[] = [];
        const silent = net.createServer((socket) => sockets.push(socket));
        await listen(silent, 0);
        try {
          const scanner = new ClamdScanner({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port }, { timeoutMs: 200 });
          await assert.rejects(scanner.scan(file('b.pdf', PDF)), /did not answer/);
        } finally {
          for (const socket of sockets) socket.destroy();
          silent.close();
        }
      });
    });
  });
});
