import path from 'node:path';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { AppContext } from '../context';
import type { StoredDocument } from '../applications/applications.model';
import { notFound } from '../lib/errors';
import type { RenderJob, RenderResult } from './preview.worker';

/**
 * PDFs shown in place: the service draws a PDF's first pages as PNG images and the officer's
 * browser shows those, in the same sandboxed frame as an uploaded photo, so it never parses the
 * uploaded PDF (and Chromium runs no PDF viewer inside a sandboxed frame anyway).
 *
 * Drawing is bounded: one document per worker thread with a heap limit and a deadline, at most
 * `maxPages` pages, each fitted into a fixed pixel box, images inside the PDF above a pixel count
 * left out; one render at a time in this process and a short waiting line (past it the page says
 * the preview is unavailable for now). The images are derived files of the stored PDF (the file
 * store's `writeDerived`), so they go with it and can always be made again; the outcome, a failure
 * included, is kept with them so a hostile file costs its deadline once, not at every view.
 */
export const PREVIEW_LIMITS = {
  maxPages: 3,
  /**
   * An A4 page at the width of the case page's column (about 106 dpi): a framed image is shown at
   * its own size (browsers shrink an image to fit only at the top level), so this is what fits
   * without scrolling inside the frame. A clean page is 20–200 KB of PNG, a grainy scan about 1 MB.
   */
  maxWidth: 880,
  maxHeight: 1245,
  /**
   * Larger images inside a PDF are left out, not decoded: decoding and scaling takes about 16 bytes
   * a pixel outside the heap (a 24 Mpx image: +390 MB for a few seconds). An A4 scan at 400 dpi is
   * 15.5 Mpx, a phone photo 12–24 Mpx.
   */
  maxImagePixels: 25_000_000,
  heapMb: 256,
  /** The whole document; a grainy 3-page 300 dpi scan takes 2–4 s on a busy 2-core machine. */
  timeoutMs: 30_000,
  /** Renders that may wait while one runs; more is a busy answer, not a longer wait. */
  queue: 8,
};
export type PreviewLimits = typeof PREVIEW_LIMITS;

export type Preview =
  | { ok: true; pageCount: number; pages: Array<{ width: number; height: number }> }
  | { ok: false; reason: PreviewFailure };
/**
 * Kept: unreadable (PDF.js cannot read it), password (encrypted), too-complex (over the time or
 * memory bound). Not kept, tried again at the next view: busy (the waiting line is full), error
 * (the stored file could not be read or the images not written).
 */
export type PreviewFailure = 'unreadable' | 'password' | 'too-complex' | 'busy' | 'error';

/** Bumped when the drawing changes, so kept previews are drawn again. */
const VERSION = 1;
const MANIFEST = 'preview.json';
const pageName = (n: number) => `preview-${n}.png`;

interface Manifest {
  version: number;
  preview: Preview;
}

type Ctx = Pick<AppContext, 'files' | 'logger'>;

/**
 * Draws the first pages of a PDF in a worker thread under the limits; never rejects. The worker
 * runs compiled JavaScript in production and this TypeScript under tsx in development and tests.
 */
export function renderPdf(data: Uint8Array, limits: PreviewLimits = PREVIEW_LIMITS): Promise<RenderResult | { ok: false; reason: 'too-complex'; detail: string }> {
  const ext = path.extname(__filename);
  const job: RenderJob = { data, maxPages: limits.maxPages, maxWidth: limits.maxWidth, maxHeight: limits.maxHeight, maxImagePixels: limits.maxImagePixels };
  return new Promise((resolve) => {
    const worker = new Worker(path.join(__dirname, `preview.worker${ext}`), {
      workerData: job,
      execArgv: ext === '.ts' ? ['--require', require.resolve('tsx/cjs')] : [],
      resourceLimits: { maxOldGenerationSizeMb: limits.heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      // PDF.js's complaints about a broken file go nowhere: the outcome is logged once, below.
      stdout: true,
      stderr: true,
    });
    worker.stdout.resume();
    worker.stderr.resume();
    let settled = false;
    const finish = (result: RenderResult | { ok: false; reason: 'too-complex'; detail: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'too-complex', detail: `not done in ${limits.timeoutMs} ms` }), limits.timeoutMs);
    worker.on('message', (result: RenderResult) => finish(result));
    worker.on('error', (err: Error & { code?: string }) => finish({ ok: false, reason: 'too-complex', detail: err.code ?? err.message }));
    worker.on('exit', (code) => finish({ ok: false, reason: 'too-complex', detail: `worker ended (${code})` }));
  });
}

/** One render at a time: drawing is CPU work, and the machine serves everyone else too. */
class RenderLine {
  private running: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  constructor(private readonly limit: number) {}

  run<T>(work: () => Promise<T>, busy: T): Promise<T> {
    if (this.waiting >= this.limit) return Promise.resolve(busy);
    this.waiting += 1;
    const next = this.running.then(async () => {
      this.waiting -= 1;
      return work();
    });
    this.running = next.catch(() => undefined);
    return next;
  }
}

const line = new RenderLine(PREVIEW_LIMITS.queue);
/** Renders under way by stored file, so two officers opening one case draw it once. */
const inFlight = new Map<string, Promise<Preview>>();

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function draw(ctx: Ctx, doc: StoredDocument, limits: PreviewLimits): Promise<Preview> {
  try {
    return await drawAndKeep(ctx, doc, limits);
  } catch (err) {
    ctx.logger.error({ err, document: doc.id }, 'PDF preview failed');
    return { ok: false, reason: 'error' };
  }
}

async function drawAndKeep(ctx: Ctx, doc: StoredDocument, limits: PreviewLimits): Promise<Preview> {
  const started = Date.now();
  const result = await renderPdf(new Uint8Array(await readAll(await ctx.files.open(doc.storageId))), limits);
  let preview: Preview;
  if (result.ok) {
    for (const [i, page] of result.pages.entries()) await ctx.files.writeDerived(doc.storageId, pageName(i + 1), Buffer.from(page.png));
    preview = { ok: true, pageCount: result.pageCount, pages: result.pages.map(({ width, height }) => ({ width, height })) };
  } else {
    preview = { ok: false, reason: result.reason };
  }
  // Written after the pages: a manifest that says ok always has its images.
  await ctx.files.writeDerived(doc.storageId, MANIFEST, Buffer.from(JSON.stringify({ version: VERSION, preview } satisfies Manifest)));
  ctx.logger.info({ document: doc.id, ms: Date.now() - started, ok: result.ok, ...(result.ok ? { pages: result.pages.length } : { reason: result.reason, detail: result.detail }) }, 'PDF preview drawn');
  return preview;
}

async function kept(ctx: Ctx, doc: StoredDocument): Promise<Preview | undefined> {
  const bytes = await ctx.files.readDerived(doc.storageId, MANIFEST);
  if (!bytes) return undefined;
  try {
    const manifest = JSON.parse(bytes.toString('utf8')) as Manifest;
    return manifest.version === VERSION ? manifest.preview : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The preview of a stored PDF: the kept one, else drawn now (and kept). The caller has checked that
 * the person may see the document.
 */
export async function pdfPreview(ctx: Ctx, doc: StoredDocument, options: { redraw?: boolean; limits?: PreviewLimits } = {}): Promise<Preview> {
  if (doc.mime !== 'application/pdf') throw new Error('pdfPreview: not a PDF');
  if (!options.redraw) {
    const found = await kept(ctx, doc);
    if (found) return found;
  }
  const running = inFlight.get(doc.storageId);
  if (running) return running;
  const busy: Preview = { ok: false, reason: 'busy' };
  const drawing = line.run(() => draw(ctx, doc, options.limits ?? PREVIEW_LIMITS), busy).finally(() => inFlight.delete(doc.storageId));
  inFlight.set(doc.storageId, drawing);
  return drawing;
}

/**
 * The previews of a case's PDFs for its page, waiting at most `waitMs` in all: a preview still being
 * drawn then is `pending` on this view (the drawing goes on and is kept for the next).
 */
export async function pdfPreviews(ctx: Ctx, documents: StoredDocument[], waitMs = 15_000): Promise<Map<string, Preview | { ok: false; reason: 'pending' }>> {
  const pdfs = documents.filter((d) => d.mime === 'application/pdf');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ ok: false; reason: 'pending' }>((resolve) => (timer = setTimeout(() => resolve({ ok: false, reason: 'pending' }), waitMs)));
  try {
    const previews = await Promise.all(pdfs.map((d) => Promise.race([pdfPreview(ctx, d), late])));
    return new Map(pdfs.map((d, i) => [d.id, previews[i]]));
  } finally {
    clearTimeout(timer);
  }
}

/** Page `n` (from 1) of a stored PDF's preview as PNG bytes; not found past the pages drawn or when there is no preview. */
export async function previewPage(ctx: Ctx, doc: StoredDocument, n: number): Promise<Buffer> {
  const none = () => notFound({ zh: '没有这一页的预览', en: 'No preview of this page' });
  if (!Number.isInteger(n) || n < 1 || n > PREVIEW_LIMITS.maxPages) throw none();
  let preview = await pdfPreview(ctx, doc);
  if (!preview.ok || n > preview.pages.length) throw none();
  let png = await ctx.files.readDerived(doc.storageId, pageName(n));
  if (!png) {
    // The images are derived: lost ones are drawn again from the stored PDF.
    preview = await pdfPreview(ctx, doc, { redraw: true });
    png = preview.ok ? await ctx.files.readDerived(doc.storageId, pageName(n)) : undefined;
  }
  if (!png) throw none();
  return png;
}
