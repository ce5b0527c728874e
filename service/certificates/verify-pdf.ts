import crypto from 'node:crypto';
import type { AppContext } from '../context';
import { decisionById } from '../decisions/decisions.service';
import { AppError } from '../lib/errors';
import { INFO } from '../pdf/document';
import { checkPdfSignature } from '../pdf/signing';
import { verifyCertificate } from './certificates.service';

export const MAX_PDF_BYTES = 5 * 1024 * 1024;

type Ctx = Parameters<typeof verifyCertificate>[0] & Pick<AppContext, 'models'>;

/** A value of our document information dictionary, read from the signed bytes only. */
function infoValue(signed: string, key: string): string | undefined {
  const m = new RegExp(`/${key.replace(/-/g, '\\-')}\\s*\\(([^()\\\\]{1,4000})\\)`).exec(signed);
  return m?.[1];
}

/**
 * Checks an uploaded PDF: whether it carries a signature, whether that signature is ours (our PDF
 * certificate) and intact (the signed bytes hash to the signed digest, and nothing was appended
 * after signing), and then what the document is: for a certificate, its current status from the
 * register (valid, revoked, expired) via the signed token it carries; for a written decision, the
 * decision on file with that number and whether this is byte for byte the file we keep.
 */
export async function checkPdf(ctx: Ctx, pdf: Buffer) {
  if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') {
    throw new AppError('unsupported_media_type', { zh: '请上传PDF文件', en: 'Upload a PDF file' });
  }
  const check = checkPdfSignature(pdf, ctx.keys.pdf.fingerprints());
  if (!check.signed) return { signature: 'none' as const, intact: false, document: null, certificate: null, decision: null };
  const intact = check.intact && check.coversWholeFile;
  if (!intact) return { signature: 'broken' as const, intact: false, document: null, certificate: null, decision: null };
  if (!check.ours) return { signature: 'not_ours' as const, intact: true, signer: check.signer ?? null, document: null, certificate: null, decision: null };

  const signed = check.signedBytes.toString('latin1');
  const kind = infoValue(signed, INFO.kind);
  const signedAt = check.signingTime ?? null;
  if (kind === 'certificate') {
    const token = infoValue(signed, INFO.token);
    const verdict = token ? await verifyCertificate(ctx, token) : { status: 'invalid' as const, reason: 'malformed' };
    return { signature: 'ours' as const, intact: true, signedAt, document: { kind, serial: infoValue(signed, INFO.serial) ?? null }, certificate: verdict, decision: null };
  }
  if (kind === 'decision') {
    const id = infoValue(signed, INFO.decision);
    const onFile = id && /^[0-9a-f]{24}-[a-z]+-\d+$/.test(id) ? await decisionById(ctx, id) : undefined;
    const sha256 = crypto.createHash('sha256').update(pdf).digest('hex');
    return {
      signature: 'ours' as const,
      intact: true,
      signedAt,
      document: { kind, number: onFile?.number ?? null },
      certificate: null,
      decision: onFile ? { number: onFile.number, kind: onFile.kind, issuer: onFile.issuer, decidedAt: onFile.decidedAt, onFile: true, sameFile: onFile.sha256 === sha256 } : { onFile: false },
    };
  }
  return { signature: 'ours' as const, intact: true, signedAt, document: null, certificate: null, decision: null };
}
