import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { projectRoot } from '../../service/lib/paths';

/** Where tests leave renderings for a person to look at (not committed). */
export const TEST_OUTPUT = path.join(projectRoot(), 'test-output');

const has = (tool: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

export const POPPLER = { pdftotext: has('pdftotext'), pdftoppm: has('pdftoppm'), pdfsig: has('pdfsig') };

function withFile<T>(pdf: Buffer, fn: (file: string, dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-pdf-'));
  const file = path.join(dir, 'doc.pdf');
  fs.writeFileSync(file, pdf);
  try {
    return fn(file, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The PDF's text as poppler extracts it (layout kept, so a label and its value share a line). */
export function pdfText(pdf: Buffer): string {
  return withFile(pdf, (file) => execFileSync('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-'], { encoding: 'utf8' }));
}

/** What `pdfsig` says about the document's signatures. */
export function pdfsig(pdf: Buffer): string {
  return withFile(pdf, (file) => {
    try {
      return execFileSync('pdfsig', [file], { encoding: 'utf8' });
    } catch (err) {
      return String((err as { stdout?: string }).stdout ?? err);
    }
  });
}

/** Renders page 1 to PNG at `dpi`; keeps a copy in test-output/ under `name` for a person to look at. */
export function renderPage(pdf: Buffer, name: string, dpi = 150): Buffer {
  return withFile(pdf, (file, dir) => {
    execFileSync('pdftoppm', ['-r', String(dpi), '-f', '1', '-l', '1', '-png', '-singlefile', file, path.join(dir, 'page')]);
    const png = fs.readFileSync(path.join(dir, 'page.png'));
    fs.mkdirSync(TEST_OUTPUT, { recursive: true });
    fs.writeFileSync(path.join(TEST_OUTPUT, `${name}.png`), png);
    return png;
  });
}

/** Finds and decodes the QR code in a rendered page. */
export function decodeQr(png: Buffer): { data: string; version: number } | undefined {
  const image = PNG.sync.read(png);
  const found = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height);
  return found ? { data: found.data, version: found.version } : undefined;
}
