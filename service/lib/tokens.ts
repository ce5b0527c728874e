import jwt from 'jsonwebtoken';
import type { Clock } from './clock';
import type { KeyRing } from './keys';

/**
 * Signed tokens (jsonwebtoken): algorithm pinned to ES256, key chosen by `kid` from configured keys
 * only, and `exp`, `iss`, `aud` and the token type all required (jsonwebtoken itself accepts a token
 * without `exp`).
 */
export interface TokenSettings {
  issuer: string;
  audience: string;
}

export class TokenError extends Error {}

export function signToken(
  ring: KeyRing,
  settings: TokenSettings,
  clock: Clock,
  claims: Record<string, unknown> & { typ: string; sub: string },
  ttlSeconds: number | undefined,
): string {
  const key = ring.active();
  const iat = Math.floor(clock.now().getTime() / 1000);
  const payload: Record<string, unknown> = { ...claims, iat };
  if (ttlSeconds !== undefined) payload.exp = iat + ttlSeconds;
  return jwt.sign(payload, key.privateKey, {
    algorithm: ring.algorithm,
    keyid: key.kid,
    issuer: settings.issuer,
    audience: settings.audience,
  });
}

export interface VerifyOptions {
  typ: string;
  /** Certificates may live without `exp`; access tokens never. */
  requireExp: boolean;
  ignoreExpiration?: boolean;
}

export function verifyToken(
  ring: KeyRing,
  settings: TokenSettings,
  clock: Clock,
  token: string,
  opts: VerifyOptions,
): jwt.JwtPayload & { sub: string; typ: string } {
  const decoded = jwt.decode(token, { complete: true });
  if (!decoded || typeof decoded.payload === 'string') throw new TokenError('malformed');
  const { alg, kid } = decoded.header;
  if (alg !== ring.algorithm) throw new TokenError('algorithm');
  if (typeof kid !== 'string') throw new TokenError('no kid');
  const key = ring.publicKey(kid);
  if (!key) throw new TokenError('unknown kid');
  let payload: string | jwt.JwtPayload;
  try {
    payload = jwt.verify(token, key, {
      algorithms: [ring.algorithm],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTimestamp: Math.floor(clock.now().getTime() / 1000),
      ignoreExpiration: opts.ignoreExpiration ?? false,
    });
  } catch (err) {
    throw new TokenError(err instanceof Error ? err.message : 'invalid');
  }
  if (typeof payload === 'string') throw new TokenError('payload');
  if (opts.requireExp && typeof payload.exp !== 'number') throw new TokenError('no exp');
  if (payload.typ !== opts.typ) throw new TokenError('wrong type');
  if (typeof payload.sub !== 'string' || payload.sub === '') throw new TokenError('no sub');
  return payload as jwt.JwtPayload & { sub: string; typ: string };
}
