import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { rateLimit, ipKeyGenerator } from 'express-rate-limit';
import { AppError } from './errors';

export interface LimitOptions {
  /** Distinguishes the counters of different limits. */
  name: string;
  windowMs: number;
  limit: number;
  /** Extra key material (e.g. the login name), so that one kiosk user cannot lock out the village. */
  keyOf?: (req: Request) => string | undefined;
}

/**
 * A rate limit keyed by the client address as Express sees it: the socket address unless
 * TRUST_PROXY_HOPS trusts a known proxy, so a forged X-Forwarded-For does not open a new bucket.
 * Counters live in process memory: behind a load balancer each instance counts its own share.
 */
export function limiter(opts: LimitOptions): RequestHandler {
  return rateLimit({
    windowMs: opts.windowMs,
    limit: opts.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: opts.name,
    keyGenerator: (req) => {
      const ip = ipKeyGenerator(req.ip ?? 'unknown');
      const extra = opts.keyOf?.(req);
      if (extra === undefined) return `${opts.name}:${ip}`;
      const hashed = crypto.createHash('sha256').update(extra).digest('base64url').slice(0, 22);
      return `${opts.name}:${ip}:${hashed}`;
    },
    handler: (_req, _res, next) => {
      next(new AppError('rate_limited'));
    },
  });
}
