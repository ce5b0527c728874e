import QRCode from 'qrcode';

/**
 * QR codes for the verification URL printed on a certificate. Error correction M (about 15% of the
 * symbol recoverable) survives a folded or lightly smudged paper certificate while keeping a long
 * signed-token URL at a size a phone camera reads from the page.
 */
const ERROR_CORRECTION = 'M';

export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: ERROR_CORRECTION, margin: 4 });
}

export function qrPng(text: string): Promise<Buffer> {
  return QRCode.toBuffer(text, { type: 'png', errorCorrectionLevel: ERROR_CORRECTION, margin: 4, scale: 6 });
}
