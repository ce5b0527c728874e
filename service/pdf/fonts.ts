import fs from 'node:fs';
import path from 'node:path';
import subsetFont from 'subset-font';

/**
 * The serif CJK face of our PDFs: Noto Serif SC (OFL) from `@fontsource-variable/noto-serif-sc`,
 * which `npm ci` installs in 6 MB. It ships the variable font cut by Unicode range into about a
 * hundred WOFF2 slices; the full static TTFs (`@expo-google-fonts/noto-serif-sc`, ~100 MB installed)
 * or Debian's `fonts-noto-cjk` (91 MB, outside npm) would buy nothing the slices lack. pdf-lib
 * cannot subset WOFF2 itself (the transformed glyf table comes out empty), so each slice a document
 * needs is instanced once at a fixed weight into a plain TrueType font with harfbuzz (`subset-font`,
 * WASM) and cached; pdf-lib then subset-embeds that.
 */
export type Weight = 'regular' | 'bold';
const WGHT: Record<Weight, number> = { regular: 400, bold: 700 };

const PACKAGE_DIR = path.dirname(require.resolve('@fontsource-variable/noto-serif-sc/package.json'));

interface Slice {
  file: string;
  ranges: Array<[number, number]>;
}

let slices: Slice[] | undefined;
const bySlice = new Map<string, Promise<Uint8Array>>();
const sliceOfCodePoint = new Map<number, Slice | null>();

/** The slices and their Unicode ranges, as the package's stylesheet declares them. */
function loadSlices(): Slice[] {
  if (slices) return slices;
  const css = fs.readFileSync(path.join(PACKAGE_DIR, 'index.css'), 'utf8');
  const found: Slice[] = [];
  for (const block of css.split('@font-face').slice(1)) {
    const file = /url\(\.\/files\/([^)]+\.woff2)\)/.exec(block)?.[1];
    const range = /unicode-range:\s*([^;]+);/.exec(block)?.[1];
    if (!file || !range) continue;
    const ranges = range.split(',').map((r): [number, number] => {
      const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
      return [parseInt(a!, 16), parseInt(b ?? a!, 16)];
    });
    found.push({ file, ranges });
  }
  if (found.length === 0) throw new Error(`no font slices found in ${PACKAGE_DIR}/index.css`);
  slices = found;
  return found;
}

/** Which slice draws a character (null: none does; the character is drawn as a space). */
export function sliceFor(codePoint: number): string | null {
  if (!sliceOfCodePoint.has(codePoint)) {
    const slice = loadSlices().find((s) => s.ranges.some(([a, b]) => codePoint >= a && codePoint <= b)) ?? null;
    sliceOfCodePoint.set(codePoint, slice);
  }
  return sliceOfCodePoint.get(codePoint)?.file ?? null;
}

/** A slice as a static TrueType font at the given weight (instanced once per process). */
export function sliceFont(file: string, weight: Weight): Promise<Uint8Array> {
  const key = `${file}@${weight}`;
  let font = bySlice.get(key);
  if (!font) {
    const woff2 = fs.readFileSync(path.join(PACKAGE_DIR, 'files', path.basename(file)));
    font = subsetFont(woff2, null, { targetFormat: 'sfnt', keepAllGlyphs: true, variationAxes: { wght: WGHT[weight] } }).then((b) => new Uint8Array(b));
    font.catch(() => bySlice.delete(key));
    bySlice.set(key, font);
  }
  return font;
}

/**
 * Instances every slice at both weights ahead of the first document, one slice at a time with a
 * turn of the event loop between them, so that requests keep flowing while it runs. The first PDF
 * of a process otherwise pays for harfbuzz's start (about a second) and for each slice its text
 * needs (tens of milliseconds each): 1.5–4 s. All slices, not just those of our fixed texts, since
 * names can fall in any of them; instanced they weigh about 12 MB.
 */
export async function prewarmFonts(): Promise<{ slices: number; ms: number }> {
  const started = Date.now();
  const files = loadSlices().map((s) => s.file);
  for (const weight of ['regular', 'bold'] as Weight[]) {
    for (const file of files) {
      await sliceFont(file, weight);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return { slices: files.length * 2, ms: Date.now() - started };
}

/** How many slice × weight fonts this process holds instanced (for tests and logs). */
export const instancedSlices = (): number => bySlice.size;
