import crypto from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { rateLimit, ipKeyGenerator, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import type { Model } from 'mongoose';
import type { Clock } from './clock';
import { trustedFilter } from './database';
import { AppError } from './errors';

export interface LimitOptions {
  /** Distinguishes the counters of different limits. */
  name: string;
  windowMs: number;
  limit: number;
  /** Extra key material (e.g. the login name), so that one kiosk user cannot lock out the village. */
  keyOf?: (req: Request) => string | undefined;
}

/** Makes one counter store per limit; absent: counters in process memory. */
export type CounterStores = () => Store;

/**
 * A rate limit keyed by the client address as Express sees it: the socket address unless
 * TRUST_PROXY_HOPS trusts a known proxy, so a forged X-Forwarded-For does not open a new bucket.
 * Counters live in process memory (each instance behind a load balancer counts its own share)
 * unless RATE_LIMIT_STORE=database shares them through the database.
 */
export function limiter(opts: LimitOptions, stores?: CounterStores): RequestHandler {
  return rateLimit({
    ...(stores ? { store: stores() } : {}),
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

/**
 * Fixed-window counters in the database, shared by every instance: one document per key and window,
 * incremented atomically ($inc with upsert). Old windows are removed by `purgeRateCounters`.
 */
export class DatabaseCounterStore implements Store {
  private windowMs = 60_000;
  readonly localKeys = false;

  constructor(
    private readonly model: Model<{ _id: string; hits: number; expiresAt: Date }>,
    private readonly clock: Clock,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  private window(key: string): { id: string; resetTime: Date } {
    const start = Math.floor(this.clock.now().getTime() / this.windowMs) * this.windowMs;
    return { id: `${key}|${start}`, resetTime: new Date(start + this.windowMs) };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const { id, resetTime } = this.window(key);
    const doc = await this.model.findById(id).lean();
    return doc ? { totalHits: doc.hits, resetTime } : undefined;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { id, resetTime } = this.window(key);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const doc = await this.model
          .findOneAndUpdate({ _id: id }, { $inc: { hits: 1 }, $setOnInsert: { expiresAt: resetTime } }, { upsert: true, returnDocument: 'after' })
          .lean();
        return { totalHits: doc!.hits, resetTime };
      } catch (err) {
        // The first hits of a window race to insert it; the loser increments the winner's.
        if ((err as { code?: number }).code !== 11000 || attempt >= 3) throw err;
      }
    }
  }

  async decrement(key: string): Promise<void> {
    await this.model.updateOne({ _id: this.window(key).id }, { $inc: { hits: -1 } });
  }

  async resetKey(key: string): Promise<void> {
    await this.model.deleteOne({ _id: this.window(key).id });
  }
}

export async function purgeRateCounters(model: Model<{ _id: string; hits: number; expiresAt: Date }>, now: Date): Promise<number> {
  return (await model.deleteMany(trustedFilter({ expiresAt: { $lt: now } }))).deletedCount;
}
