import type { AppContext } from '../context';
import { signPdf } from './signing';
import { PdfWriter, type TextStyle } from './writer';

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
