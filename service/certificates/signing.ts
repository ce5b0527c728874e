import crypto from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { Clock } from '../lib/clock';
import type { KeyRing } from '../lib/keys';
import { signToken, TokenError, verifyToken } from '../lib/tokens';

/**
 * A certificate's claims as a compact JWS signed with the certificate key (never the access-token
 * key), so anyone holding the published JWKS can check a printed certificate offline. The token has
 * no `exp`: a certificate's validity is its own claim (`validUntil`, null when it does not lapse),
 * and whether it has been revoked is a question only the service can answer online.
 */
export interface CertificateSettings {
  issuer: string;
  audience: 'fpc-certificate';
}

export interface CertificateClaims {
  serial: string;
  /** The certificate type code, e.g. `rebirth-permit`. */
  type: string;
  /** The holder's masked name only (e.g. 张*): the token is printed and public. */
  holder: string;
  /** ISO 8601 instant of issue. */
  issuedAt: string;
  /** Division code of the issuing authority. */
  issuerDivision: string;
  /** ISO 8601 date the certificate lapses, or null when it does not. */
  validUntil: string | null;
  applicationNumber: string;
}

export type CertificateVerification =
  | { ok: true; claims: CertificateClaims; jti: string; kid: string }
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'rejected' | 'wrong_type' | 'bad_claims' };

const TYP = 'certificate';
/** 16 random bytes in base64url: 128 bits, so a verification identifier cannot be guessed. */
const JTI = /^[A-Za-z0-9_-]{22,}$/;

export function signCertificate(ring: KeyRing, settings: CertificateSettings, clock: Clock, claims: CertificateClaims): string {
  const jti = crypto.randomBytes(16).toString('base64url');
  return signToken(ring, settings, clock, { ...claims, typ: TYP, sub: claims.serial, jti }, undefined);
}

export function verifyCertificateToken(
  ring: KeyRing,
  settings: CertificateSettings,
  clock: Clock,
  token: string,
): CertificateVerification {
  let payload: Record<string, unknown>;
  try {
    payload = verifyToken(ring, settings, clock, token, { typ: TYP, requireExp: false });
  } catch (err) {
    if (!(err instanceof TokenError)) throw err;
    return { ok: false, reason: reasonOf(err) };
  }
  const claims = claimsOf(payload);
  if (!claims || typeof payload.jti !== 'string' || !JTI.test(payload.jti)) return { ok: false, reason: 'bad_claims' };
  // verifyToken has already found this kid in the ring.
  const kid = String(jwt.decode(token, { complete: true })?.header.kid);
  return { ok: true, claims, jti: payload.jti, kid };
}

function reasonOf(err: TokenError): 'malformed' | 'unknown_key' | 'rejected' | 'wrong_type' | 'bad_claims' {
  switch (err.message) {
    case 'malformed':
    case 'payload':
      return 'malformed';
    case 'algorithm':
    case 'no kid':
    case 'unknown kid':
      return 'unknown_key';
    case 'wrong type':
      return 'wrong_type';
    case 'no sub':
      return 'bad_claims';
    default:
      return 'rejected';
  }
}

function claimsOf(p: Record<string, unknown>): CertificateClaims | undefined {
  const text = (v: unknown): v is string => typeof v === 'string' && v !== '';
  const { serial, type, holder, issuedAt, issuerDivision, validUntil, applicationNumber } = p;
  if (!text(serial) || serial !== p.sub || !text(type) || !text(holder) || !text(issuedAt) || !text(issuerDivision)) return undefined;
  if (!text(applicationNumber) || !(validUntil === null || text(validUntil))) return undefined;
  return { serial, type, holder, issuedAt, issuerDivision, validUntil, applicationNumber };
}
