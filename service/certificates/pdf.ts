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

/**
 * A certificate as an A4 PDF: title, the catalogue's fields in order, its notes, the QR code with
 * the short verification link, the issuing authority's seal and name, and the date. Signed with
 * the service's PDF key; the document information carries the serial, the short link, the
 * e-licence identifier and the signed token (for offline checks).
 */
export async function certificatePdf(ctx: Ctx, app: ApplicationDoc, cert: CertificateDoc): Promise<{ pdf: Buffer; qrVersion: number }> {
  const content = certificateContent(ctx, app, cert);
  const w = await PdfWriter.create(A4, { title: `${content.title.zh} ${cert.serial}`, subject: content.title.en });
  const link = verifyUrl(ctx, cert);
  w.setInfo(INFO.kind, 'certificate');
  w.setInfo(INFO.serial, cert.serial);
  w.setInfo(INFO.shortUrl, link);
  w.setInfo(INFO.token, cert.token);
  w.setInfo(INFO.eLicence, content.eLicence.identifier);

  const { width, height } = w;
  w.rect(MARGIN - 8, MARGIN - 8, width - 2 * MARGIN + 16, height - 2 * MARGIN + 16, 2.2, rgb(0.55, 0.12, 0.1));
  w.rect(MARGIN - 3, MARGIN - 3, width - 2 * MARGIN + 6, height - 2 * MARGIN + 6, 0.6, rgb(0.55, 0.12, 0.1));
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
    w.line(left, y + 20, width - MARGIN - 18, y + 20, 0.3, rgb(0.6, 0.6, 0.6));
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

  if (cert.status === 'revoked') {
    await w.text('已注销 REVOKED', width / 2, height / 2, { size: 54, weight: 'bold', color: SEAL_RED, align: 'center', rotate: 0 });
    if (cert.revokedAt) await w.text(`注销日期 ${chineseDate(new Date(cert.revokedAt).toISOString().slice(0, 10))}`, width / 2, height / 2 - 30, { size: 14, color: SEAL_RED, align: 'center' });
  }
  await w.paragraph(
    '本件为电子证照的可打印、可核验副本（PDF，带数字签名）；具有法律效力的电子证照原件由省级电子证照平台签发。This signed PDF is the printable, verifiable copy; the legally sealed original is the provincial e-licence platform\'s.',
    MARGIN,
    MARGIN - 22,
    width - 2 * MARGIN,
    { size: 6.5, lineHeight: 8.5, color: INK },
  );
  const pdf = await sign(ctx, w, `颁发${content.title.zh} ${cert.serial}`, content.issuer);
  return { pdf, qrVersion: version };
}
