import fs from 'node:fs';
import path from 'node:path';
const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
const root = path.dirname(new URL(import.meta.resolve('pdfjs-dist/package.json')).pathname);
const data = new Uint8Array(fs.readFileSync(process.argv[2]));
const W = +process.argv[3] || 1240, H = Math.round(W * 1.4145);
const doc = await pdfjs.getDocument({ data, isEvalSupported: false, standardFontDataUrl: root + '/standard_fonts/', wasmUrl: root + '/wasm/', verbosity: 0 }).promise;
for (let i = 1; i <= doc.numPages; i++) {
  const page = await doc.getPage(i);
  const vp0 = page.getViewport({ scale: 1 });
  const vp = page.getViewport({ scale: Math.min(W / vp0.width, H / vp0.height) });
  const cc = doc.canvasFactory.create(Math.floor(vp.width), Math.floor(vp.height));
  let t = performance.now();
  await page.render({ canvasContext: cc.context, canvas: cc.canvas, viewport: vp }).promise;
  const tr = performance.now() - t; t = performance.now();
  const png = cc.canvas.toBuffer('image/png');
  const tp = performance.now() - t; t = performance.now();
  const png2 = await cc.canvas.encode('png');
  const te = performance.now() - t; t = performance.now();
  const jpg = cc.canvas.toBuffer('image/jpeg', 85);
  const tj = performance.now() - t; t = performance.now();
  const webp = cc.canvas.toBuffer('image/webp', 85);
  const tw = performance.now() - t;
  console.log(i, 'render', tr.toFixed(0), 'png', tp.toFixed(0), png.length, 'encode', te.toFixed(0), png2.length, 'jpg', tj.toFixed(0), jpg.length, 'webp', tw.toFixed(0), webp.length);
}
