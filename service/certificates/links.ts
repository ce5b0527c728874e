import type { AppContext } from '../context';
import type { CertificateDoc, CertificateLinkDoc } from './certificates.model';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding: upper case and digits, which a QR code packs in its compact alphanumeric mode. */
export function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The short identifier of a certificate: its token's 128-bit random `jti` in base32 (26
 * characters). Derived, not drawn again, so that a retried issuance finds the same one.
 */
export const shortIdOf = (jti: string): string => base32(Buffer.from(jti, 'base64url'));

export const SHORT_ID = /^[A-Z2-7]{26}$/;

export const shortUrl = (ctx: Pick<AppContext, 'config'>, shortId: string): string => `${ctx.config.publicBaseUrl}/v/${shortId}`;

/** Stores the short identifier's key document (idempotent). */
export async function saveLink(ctx: Pick<AppContext, 'models'>, link: CertificateLinkDoc): Promise<void> {
  try {
    await ctx.models.CertificateLink.create(link);
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
  }
}

/** The signed token a short identifier stands for, or undefined. */
export async function resolveShortId(ctx: Pick<AppContext, 'models'>, shortId: string): Promise<string | undefined> {
  if (!SHORT_ID.test(shortId)) return undefined;
  const link = await ctx.models.CertificateLink.findById(shortId).lean<CertificateLinkDoc>();
  return link?.token;
}

/** What the QR code carries: the short link when the certificate has one, else the token's own URL. */
export const verifyUrl = (ctx: Pick<AppContext, 'config'>, cert: Pick<CertificateDoc, 'token' | 'shortId'>): string => (cert.shortId ? shortUrl(ctx, cert.shortId) : tokenUrl(ctx, cert));

/** The verification URL that carries the signed token itself (offline-checkable). */
export const tokenUrl = (ctx: Pick<AppContext, 'config'>, cert: Pick<CertificateDoc, 'token'>): string => `${ctx.config.publicBaseUrl}/api/v1/verify/${cert.token}`;
