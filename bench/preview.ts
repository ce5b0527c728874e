/**
 * `BENCH_ONLY=preview npm run bench`: drawing the officer's PDF previews (service/documents/preview.ts)
 * for a typical scan — A4 pages scanned at 300 dpi as JPEG (paper grain, lines of print), as a
 * scanner app or a copier makes them — one, two and three pages. Each drawing runs as the service
 * runs it (a worker thread per document, under PREVIEW_LIMITS); the figures are wall time and the
 * process's resident memory above its level before the drawing (the worker's memory is the
 * process's), sampled every 10 ms.
 */
import { performance } from 'node:perf_hooks';
import { createCanvas } from '@napi-rs/canvas';
import { PDFDocument } from 'pdf-lib';
import { PREVIEW_LIMITS, renderPdf } from '../service/documents/preview';
import { fmt, median } from './lib';

const A4 = { w: 2480, h: 3508, pt: [595.28, 841.89] as [number, number] };

/** One scanned page as a JPEG: off-white paper with grain, a header band and lines of print. */
function scannedPage(n: number): Buffer {
  const canvas = createCanvas(A4.w, A4.h);
  const g = canvas.getContext('2d');
  g.fillStyle = '#f4f1ea';
  g.fillRect(0, 0, A4.w, A4.h);
  const img = g.getImageData(0, 0, A4.w, A4.h);
  for (let i = 0; i < img.data.length; i += 4) {
    const grain = (Math.random() * 6) | 0;
    img.data[i] -= grain;
    img.data[i + 1] -= grain;
    img.data[i + 2] -= grain;
  }
  g.putImageData(img, 0, 0);
  g.fillStyle = '#c8d4ec';
  g.fillRect(150, 180, A4.w - 300, 320);
  g.fillStyle = '#202040';
  g.font = '64px sans-serif';
  for (let y = 700; y < A4.h - 200; y += 96) g.fillText(`Page ${n} · line ${(y - 700) / 96 + 1} · scanned document text at 300 dpi for the preview measurement`, 170, y);
  return canvas.toBuffer('image/jpeg', 85);
}

export async function scanPdf(pages: number): Promise<Buffer> {
  const doc = await PDFDocument.create();
  for (let n = 1; n <= pages; n++) {
    const image = await doc.embedJpg(scannedPage(n));
    doc.addPage(A4.pt).drawImage(image, { x: 0, y: 0, width: A4.pt[0], height: A4.pt[1] });
  }
  return Buffer.from(await doc.save());
}

export interface PreviewFigures {
  pages: number;
  fileKB: number;
  ms: number[];
  medianMs: number;
  peakRssGrowthMB: number;
  pngKB: number[];
}

export async function previewBench(rounds = 3): Promise<PreviewFigures[]> {
  const out: PreviewFigures[] = [];
  for (const pages of [1, 2, 3]) {
    const pdf = await scanPdf(pages);
    const ms: number[] = [];
    let peak = 0;
    let pngKB: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const before = process.memoryUsage().rss;
      let top = before;
      const sampler = setInterval(() => (top = Math.max(top, process.memoryUsage().rss)), 10);
      const t0 = performance.now();
      const result = await renderPdf(new Uint8Array(pdf));
      ms.push(performance.now() - t0);
      clearInterval(sampler);
      peak = Math.max(peak, (top - before) / 1048576);
      if (!result.ok) throw new Error(`the scan's preview failed: ${result.reason} ${result.detail}`);
      pngKB = result.pages.map((p) => p.png.length / 1024);
    }
    out.push({ pages, fileKB: pdf.length / 1024, ms, medianMs: median(ms), peakRssGrowthMB: peak, pngKB });
    console.log(
      `  ${pages} page(s), ${fmt(pdf.length / 1024)} KB PDF: ${ms.map((m) => fmt(m)).join(' / ')} ms (median ${fmt(median(ms))}); RSS +${fmt(peak)} MB at most; PNG ${pngKB.map((k) => fmt(k)).join(' + ')} KB at ${PREVIEW_LIMITS.maxWidth} px wide`,
    );
  }
  return out;
}
