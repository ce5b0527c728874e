import type { ApplicationDoc } from '../applications/applications.model';
import type { AppContext } from '../context';
import { bilingualLabel, fitted, INFO, sign } from '../pdf/document';
import { A4, INK, MM, PdfWriter, SEAL_RED } from '../pdf/writer';
import { rgb } from 'pdf-lib';
import type { CertificateDoc } from './certificates.model';
import { certificateContent, chineseDate } from './content';
import { verifyUrl } from './links';

type Ctx = Pick<AppContext, 'config' | 'keys' | 'policy' | 'clock'>;

const MARGIN = 20 * MM;

/** A4, or the booklet edition a type's catalogue entry declares (`certificate.booklet`). */
export type CertificateFormat = 'a4' | 'booklet';

type Content = ReturnType<typeof certificateContent>;
const FRAME = rgb(0.55, 0.12, 0.1);

/** The PDF formats a type offers. */
export const formatsOf = (ctx: Pick<AppContext, 'policy'>, type: string): CertificateFormat[] => (ctx.policy.type(type)?.certificate.booklet ? ['a4', 'booklet'] : ['a4']);

/**
 * A certificate as a PDF: title, the catalogue's fields in order, its notes, the QR code with the
 * short verification link, the issuing authority's seal and name, and the date; on an A4 page or
 * as the open spread of a booklet. Signed with the service's PDF key; the document information
 * carries the serial, the short link, the e-licence identifier and the signed token (for offline checks).
 */
export async function certificatePdf(ctx: Ctx, app: ApplicationDoc, cert: CertificateDoc, format: CertificateFormat = 'a4'): Promise<{ pdf: Buffer; qrVersion: number }> {
  const content = certificateContent(ctx, app, cert);
  const booklet = format === 'booklet' ? ctx.policy.type(cert.type)?.certificate.booklet : undefined;
  if (format === 'booklet' && !booklet) throw new Error(`${cert.type} has no booklet edition`);
  const size: [number, number] = booklet ? [2 * booklet.pageMm[0] * MM, booklet.pageMm[1] * MM] : A4;
  const w = await PdfWriter.create(size, { title: `${content.title.zh} ${cert.serial}`, subject: content.title.en });
  const link = verifyUrl(ctx, cert);
  w.setInfo(INFO.kind, 'certificate');
  w.setInfo(INFO.serial, cert.serial);
  w.setInfo(INFO.shortUrl, link);
  w.setInfo(INFO.token, cert.token);
  w.setInfo(INFO.eLicence, content.eLicence.identifier);
  const { version } = booklet ? await drawBooklet(w, cert, content, link) : await drawA4(w, cert, content, link);
  const pdf = await sign(ctx, w, `颁发${content.title.zh} ${cert.serial}`, content.issuer);
  return { pdf, qrVersion: version };
}

async function drawA4(w: PdfWriter, cert: CertificateDoc, content: Content, link: string): Promise<{ version: number }> {
  const { width, height } = w;
  w.rect(MARGIN - 8, MARGIN - 8, width - 2 * MARGIN + 16, height - 2 * MARGIN + 16, 2.2, FRAME);
  w.rect(MARGIN - 3, MARGIN - 3, width - 2 * MARGIN + 6, height - 2 * MARGIN + 6, 0.6, FRAME);
  await w.text(`No. ${cert.serial}`, width - MARGIN - 6, height - MARGIN - 16, { size: 9, align: 'right' });
  await w.text(content.title.zh, width / 2, height - MARGIN - 62, { size: 30, weight: 'bold', align: 'center' });
  await w.text(content.title.en, width / 2, height - MARGIN - 84, { size: 11, align: 'center' });

  const left = MARGIN + 18;
  const valueX = left + 112;
  const valueWidth = width - MARGIN - 18 - valueX;
  let y = height - MARGIN - 128;
  w.line(left, y + 22, width - MARGIN - 18, y + 22, 0.8);
  for (const line of content.lines) {
    await bilingualLabel(w, line.label.zh, line.label.en, left, y, 10.5);
    const below = await fitted(w, line.value, valueX, y, valueWidth, { size: 12.5, min: 7 });
    y = Math.min(y - 30, below - 10);
    w.line(left, y + 17, width - MARGIN - 18, y + 17, 0.3, rgb(0.6, 0.6, 0.6));
  }
  y -= 6;
  for (const note of content.notes) {
    y = await w.paragraph(note.zh, left, y, width - 2 * left, { size: 10.5, indent: 21, lineHeight: 16 });
    y = await w.paragraph(note.en, left, y + 2, width - 2 * left, { size: 8, lineHeight: 11 });
    y -= 4;
  }

  // The QR code: about 30 mm, large enough for a phone camera at arm's length.
  const qrSize = 30 * MM;
  const qrY = MARGIN + 34;
  const { version } = w.qr(link, left, qrY, qrSize);
  await w.text('扫码核验 Scan to verify', left + qrSize / 2, qrY - 10, { size: 8, align: 'center' });
  await w.text(link, left, qrY - 22, { size: 6.5 });

  const sealX = width - MARGIN - 100;
  const sealY = qrY + qrSize / 2 + 6;
  await w.text(content.issuer, sealX, sealY + 8, { size: 13, weight: 'bold', align: 'center' });
  await w.text(chineseDate(content.issuedOn), sealX, sealY - 14, { size: 12, align: 'center' });
  await w.seal(content.issuer, '电子证照专用章', sealX, sealY, 50);

  await revokedMark(w, cert, width / 2, height / 2, 54);
  await w.paragraph(COPY_NOTE, MARGIN, MARGIN - 22, width - 2 * MARGIN, { size: 6.5, lineHeight: 8.5, color: INK });
  return { version };
}

const COPY_NOTE = '本件为电子证照的可打印、可核验副本（PDF，带数字签名）；具有法律效力的电子证照原件由省级电子证照平台签发。This signed PDF is the printable, verifiable copy; the legally sealed original is the provincial e-licence platform\'s.';

/** Across a revoked certificate: 已注销 and the date, in seal red. */
async function revokedMark(w: PdfWriter, cert: CertificateDoc, x: number, y: number, size: number): Promise<void> {
  if (cert.status !== 'revoked') return;
  await w.text('已注销 REVOKED', x, y, { size, weight: 'bold', color: SEAL_RED, align: 'center' });
  if (cert.revokedAt) await w.text(`注销日期 ${chineseDate(new Date(cert.revokedAt).toISOString().slice(0, 10))}`, x, y - size * 0.55, { size: size / 4, color: SEAL_RED, align: 'center' });
}

/**
 * The booklet edition: the open inner spread, two booklet pages side by side, to be printed on one
 * sheet and folded once. Left page: title, serial, notes and the QR code; right page: the fields in
 * the catalogue's order, the seal over the issuer and date.
 */
async function drawBooklet(w: PdfWriter, cert: CertificateDoc, content: Content, link: string): Promise<{ version: number }> {
  const page = w.width / 2;
  const { height } = w;
  const m = 9 * MM;
  for (const x0 of [0, page]) {
    w.rect(x0 + m - 5, m - 5, page - 2 * m + 10, height - 2 * m + 10, 1.4, FRAME);
    w.rect(x0 + m - 2, m - 2, page - 2 * m + 4, height - 2 * m + 4, 0.4, FRAME);
  }
  // The fold.
  w.line(page, 0, page, height, 0.3, rgb(0.75, 0.75, 0.75));

  // Left page.
  const inner = page - 2 * m - 12;
  await w.text(content.title.zh, page / 2, height - m - 40, { size: Math.min(22, inner / Array.from(content.title.zh).length), weight: 'bold', align: 'center' });
  await w.text(content.title.en, page / 2, height - m - 58, { size: 7.5, align: 'center' });
  await w.text(`No. ${cert.serial}`, page / 2, height - m - 74, { size: 8, align: 'center' });
  let y = height - m - 100;
  for (const note of content.notes) {
    y = await w.paragraph(note.zh, m + 6, y, inner, { size: 8.5, indent: 17, lineHeight: 12.5 });
    y = await w.paragraph(note.en, m + 6, y + 1, inner, { size: 6.2, lineHeight: 8.5 });
    y -= 3;
  }
  const qrSize = 28 * MM;
  const qrY = m + 30;
  const { version } = w.qr(link, (page - qrSize) / 2, qrY, qrSize);
  await w.text('扫码核验 Scan to verify', page / 2, qrY - 9, { size: 7, align: 'center' });
  await fitted(w, link, m + 6, qrY - 19, inner, { size: 5.5, min: 4.5 });

  // Right page.
  const left = page + m + 6;
  const valueX = left + 66;
  const valueWidth = w.width - m - 6 - valueX;
  y = height - m - 24;
  let issuerY = m + 60;
  for (const line of content.lines) {
    await bilingualLabel(w, line.label.zh, line.label.en, left, y, 8);
    if (line.value === content.issuer) issuerY = y;
    const below = await fitted(w, line.value, valueX, y, valueWidth, { size: 9.5, min: 5.5 });
    // The rule sits below the English label (baseline 7.6 pt under the row's) and above the next row's capitals.
    y = Math.min(y - 24, below - 8);
    w.line(left, y + 12, w.width - m - 6, y + 12, 0.25, rgb(0.6, 0.6, 0.6));
  }
  await w.seal(content.issuer, '电子证照专用章', w.width - m - 50, Math.max(issuerY - 8, m + 40), 36);
  await revokedMark(w, cert, page + page / 2, height / 2, 30);
  await w.paragraph(COPY_NOTE, left, Math.min(y, m + 24), w.width - m - 6 - left, { size: 4.6, lineHeight: 6, color: INK });
  return { version };
}
