/**
 * PDF certificate generation: certificates per second on one core, and memory over 100 in a row.
 * Run in its own process (`npm run bench` forks it, or `npx tsx bench/pdf.ts`): one Node thread is
 * one core, and the memory figures are this process's alone. No database: the renderer takes the
 * register entry and the application as they are stored. The baseline is a bare pdf-lib A4 page
 * with the same number of text lines in a standard font, saved without a signature.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Types } from 'mongoose';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import type { ApplicationDoc } from '../service/applications/applications.model';
import type { CertificateDoc } from '../service/certificates/certificates.model';
import { eLicenceOf } from '../service/certificates/content';
import { certificatePdf } from '../service/certificates/pdf';
import { loadConfig } from '../service/config';
import { loadPolicy } from '../service/eligibility/policy';
import { systemClock } from '../service/lib/clock';
import { loadKeys } from '../service/lib/keys';
import { prewarmPdf } from '../service/pdf/document';
import { encrypt, sealJson } from '../service/lib/personal';
import { birthServiceForm } from '../test/support/forms';

const COUNT = Number(process.env.BENCH_PDF_COUNT ?? 100);
/** As the server does after it starts listening (service/server.ts): the first PDF then finds its fonts ready. */
const PREWARM = process.env.BENCH_PDF_PREWARM === '1';

export interface PdfBench {
  baselinePerSecond: number;
  pdfsPerSecond: number;
  firstMs: number;
  /** Set when the fonts were pre-warmed before the first PDF, as the server does: how long that took. */
  prewarmMs?: number;
  bytes: number;
  rssMB: { afterFirst: number; after10: number; peak: number; after100: number };
  heapMB: { after10: number; after100: number };
  growthAfter10MB: number;
}

async function baselinePdf(lines: number): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.TimesRoman);
  const page = doc.addPage([595.28, 841.89]);
  for (let i = 0; i < lines; i++) page.drawText(`Line ${i}: certificate field value 430725-2026-BS-000001`, { x: 60, y: 780 - i * 20, size: 12, font });
  return doc.save();
}

const mb = (n: number): number => Math.round((n / 2 ** 20) * 10) / 10;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

export async function runPdfBench(): Promise<PdfBench> {
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-bench-pdf-'));
  try {
    const config = loadConfig({ NODE_ENV: 'test', KEYS_DIR: keysDir });
    const keys = loadKeys(keysDir, true);
    const ctx = { config, keys, policy: loadPolicy(config.schemasDir), clock: systemClock };
    const form = birthServiceForm();
    const now = new Date();
    const app = {
      _id: new Types.ObjectId(),
      number: '430725-2026-000001',
      type: 'birth-service',
      status: 'approved',
      resident: { nameSealed: encrypt(keys.dataKey, '张伟'), nameMasked: '张*', idHash: 'x', idNumberEnc: 'x', idMasked: '430725********0013' },
      formSealed: sealJson(keys.dataKey, form),
      ruleSetVersion: 'D-2021.1',
      ground: 'D-BS1',
      submittedAt: now,
      stages: [],
      stageIndex: 0,
      documents: [],
      history: [],
    } as unknown as ApplicationDoc;
    const base = {
      serial: '430725-2026-BS-000001',
      type: 'birth-service',
      holderNameMasked: '张*',
      holderIdMasked: '430725********0013',
      issuerDivision: '430725101',
      issuedAt: now,
      validUntil: null,
    };
    const cert = {
      ...base,
      _id: new Types.ObjectId(),
      applicationId: app._id.toString(),
      applicationNumber: app.number,
      verifyId: crypto.randomBytes(16).toString('base64url'),
      token: `eyJhbGciOiJFUzI1NiJ9.${crypto.randomBytes(300).toString('base64url')}.${crypto.randomBytes(64).toString('base64url')}`,
      kid: 'k',
      holderIdHash: 'x',
      holderNameSealed: encrypt(keys.dataKey, '张伟'),
      status: 'valid',
      shortId: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
      eLicence: eLicenceOf(ctx, base),
    } as unknown as CertificateDoc;

    // Baseline: bare pdf-lib pages, as many as fit in about two seconds.
    await baselinePdf(14);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 2_000) {
      await baselinePdf(14);
      n += 1;
    }
    const baselinePerSecond = n / ((performance.now() - t0) / 1000);

    let prewarmMs: number | undefined;
    if (PREWARM) prewarmMs = (await prewarmPdf(ctx)).ms;
    gc();
    const f0 = performance.now();
    const first = await certificatePdf(ctx, app, cert);
    const firstMs = performance.now() - f0;
    const rss = { afterFirst: mb(process.memoryUsage().rss), after10: 0, peak: 0, after100: 0 };
    const heap = { after10: 0, after100: 0 };
    let peak = process.memoryUsage().rss;
    const t1 = performance.now();
    for (let i = 1; i <= COUNT; i++) {
      await certificatePdf(ctx, app, { ...cert, serial: `430725-2026-BS-${String(i).padStart(6, '0')}` });
      peak = Math.max(peak, process.memoryUsage().rss);
      if (i === 10) {
        gc();
        rss.after10 = mb(process.memoryUsage().rss);
        heap.after10 = mb(process.memoryUsage().heapUsed);
      }
    }
    const pdfsPerSecond = COUNT / ((performance.now() - t1) / 1000);
    gc();
    rss.after100 = mb(process.memoryUsage().rss);
    rss.peak = mb(peak);
    heap.after100 = mb(process.memoryUsage().heapUsed);
    return { baselinePerSecond, pdfsPerSecond, firstMs, prewarmMs, bytes: first.pdf.length, rssMB: rss, heapMB: heap, growthAfter10MB: Math.round((heap.after100 - heap.after10) * 10) / 10 };
  } finally {
    fs.rmSync(keysDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runPdfBench()
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
