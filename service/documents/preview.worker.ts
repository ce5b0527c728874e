import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * Renders the first pages of one uploaded PDF to PNG images, inside a worker thread that the
 * service starts per document with memory limits and a deadline (`preview.ts`), so a hostile PDF
 * can at worst end this thread. PDF.js parses and draws; @napi-rs/canvas (Skia) holds the pixels
 * and encodes the PNG.
 */
export interface RenderJob {
  data: Uint8Array;
  maxPages: number;
  /** The box each page is scaled to fit, in pixels. */
  maxWidth: number;
  maxHeight: number;
  /** Larger images inside the PDF are left out by PDF.js rather than decoded (pixels). */
  maxImagePixels: number;
}

export type RenderResult =
  | { ok: true; pageCount: number; pages: Array<{ width: number; height: number; png: Uint8Array }> }
  | { ok: false; reason: 'unreadable' | 'password'; detail: string };

async function render(job: RenderJob): Promise<RenderResult> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const root = path.dirname(require.resolve('pdfjs-dist/package.json'));
  const task = pdfjs.getDocument({
    data: job.data,
    // Font programs are drawn by the interpreter, never compiled to functions; no fetch, no scripting.
    isEvalSupported: false,
    useWorkerFetch: false,
    enableXfa: false,
    maxImageSize: job.maxImagePixels,
    standardFontDataUrl: `${root}/standard_fonts/`,
    cMapUrl: `${root}/cmaps/`,
    cMapPacked: true,
    wasmUrl: `${root}/wasm/`,
    verbosity: 0,
  });
  let doc;
  try {
    doc = await task.promise;
  } catch (err) {
    const name = (err as { name?: string } | null)?.name ?? '';
    return { ok: false, reason: name === 'PasswordException' ? 'password' : 'unreadable', detail: name || String(err) };
  }
  try {
    const pages: Array<{ width: number; height: number; png: Uint8Array }> = [];
    for (let n = 1; n <= Math.min(doc.numPages, job.maxPages); n++) {
      const page = await doc.getPage(n);
      const natural = page.getViewport({ scale: 1 });
      // Fit the page in the box whatever size the file claims for it: the pixel count is ours.
      const scale = Math.min(job.maxWidth / natural.width, job.maxHeight / natural.height);
      const viewport = page.getViewport({ scale });
      const width = Math.max(1, Math.floor(viewport.width));
      const height = Math.max(1, Math.floor(viewport.height));
      const { canvas, context } = (doc.canvasFactory as CanvasFactory).create(width, height);
      await page.render({ canvas, canvasContext: context, viewport }).promise;
      pages.push({ width, height, png: canvas.toBuffer('image/png') });
      page.cleanup();
    }
    return { ok: true, pageCount: doc.numPages, pages };
  } catch (err) {
    return { ok: false, reason: 'unreadable', detail: (err as { name?: string } | null)?.name ?? String(err) };
  } finally {
    await doc.destroy();
  }
}

/** PDF.js's Node canvas factory makes @napi-rs/canvas canvases (its typings say only Object). */
interface CanvasFactory {
  create(width: number, height: number): { canvas: HTMLCanvasLike; context: CanvasRenderingContext2DLike };
}
interface HTMLCanvasLike {
  width: number;
  height: number;
  toBuffer(mime: 'image/png'): Buffer;
}
type CanvasRenderingContext2DLike = object;

if (parentPort) {
  const port = parentPort;
  render(workerData as RenderJob).then(
    // Copied, not transferred: Skia's buffers live outside this thread's heap; a few hundred KB at most.
    (result) => port.postMessage(result),
    (err: unknown) => port.postMessage({ ok: false, reason: 'unreadable', detail: String(err) } satisfies RenderResult),
  );
}
