import type { AppContext } from '../context';
import { signPdf } from './signing';
import { prewarmFonts } from './fonts';
import { A4, PdfWriter, type TextStyle } from './writer';

/** Keys of the document information dictionary by which a verifier recognises our documents. */
export const INFO = {
  kind: 'FPC-Document',
  serial: 'FPC-Serial',
  decision: 'FPC-Decision',
  token: 'FPC-Token',
  shortUrl: 'FPC-Verify',
  eLicence: 'FPC-ELicence',
} as const;

export const LOCATION = '湖南省常德市桃源县';

/** A label in Chinese with its English below, as our bilingual documents print it. */
export async function bilingualLabel(w: PdfWriter, zh: string, en: string, x: number, y: number, size = 11): Promise<void> {
  await w.text(zh, x, y, { size, weight: 'bold' });
  await w.text(en, x, y - size * 0.95, { size: size * 0.62 });
}

/** Text that shrinks, then wraps, to fit `width`; returns the baseline below it. */
export async function fitted(w: PdfWriter, text: string, x: number, y: number, width: number, style: TextStyle & { min?: number }): Promise<number> {
  for (let size = style.size; size >= (style.min ?? style.size * 0.75); size -= 0.5) {
    if ((await w.measure(text, { ...style, size })) <= width) {
      await w.text(text, x, y, { ...style, size });
      return y - size * 1.5;
    }
  }
  const size = style.min ?? style.size * 0.75;
  return w.paragraph(text, x, y, width, { ...style, size, lineHeight: size * 1.35, breakAnywhere: !/\s/.test(text) });
}

/** Signs a finished document with the service's PDF key; the signature names the issuing authority. */
export function sign(ctx: Pick<AppContext, 'keys' | 'clock'>, w: PdfWriter, reason: string, authority: string): Promise<Buffer> {
  return signPdf(w.doc, ctx.keys.pdf.active(), {
    reason,
    signerName: authority,
    location: LOCATION,
    contactInfo: '',
    signingTime: ctx.clock.now(),
  });
}

/**
 * Readies a process for its first document: every font slice instanced (`prewarmFonts`), then one
 * throwaway document written and signed, so that the code paths of layout, font subsetting, the QR
 * code, the seal and the signature are loaded and compiled too. Run in the background after the
 * server listens; the first PDF a person asks for then costs what any other does.
 */
export async function prewarmPdf(ctx: Pick<AppContext, 'keys' | 'clock' | 'policy'>): Promise<{ slices: number; ms: number }> {
  const started = Date.now();
  const { slices } = await prewarmFonts();
  const w = await PdfWriter.create(A4, { title: '预热 warm-up' });
  // The catalogue's words, measured at both weights: their widths are cached for every later document.
  for (const type of ctx.policy.types) {
    const { title, fields, notes } = type.certificate;
    for (const text of [title, ...fields.map((f) => f.label), ...notes].flatMap((b) => [b.zh, b.en])) {
      await w.measure(text, { size: 12 });
      await w.measure(text, { size: 12, weight: 'bold' });
    }
  }
  await w.text('计划生育证件 Warm-up 0123456789', 40, 700, { size: 12 });
  await w.text('准予行政许可决定书', 40, 680, { size: 12, weight: 'bold' });
  w.qr('https://localhost/v/AAAAAAAAAAAAAAAAAAAAAAAAAA', 40, 500, 80);
  await w.seal('桃源县卫生健康局', '行政许可专用章', 300, 500, 48);
  await sign(ctx, w, 'warm-up', 'warm-up');
  return { slices, ms: Date.now() - started };
}
