import crypto from 'node:crypto';
import type { Request } from 'express';
import type { AppContext } from '../context';
import type { Principal } from '../lib/auth';
import { ours } from '../lib/database';
import { AppError } from '../lib/errors';

export interface Outcome {
  status: number;
  body: unknown;
}

const KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
const WAIT_MS = 10_000;

/**
 * Runs `work` once per Idempotency-Key (per caller and operation) and replays its first outcome for
 * every repeat, even a concurrent one: the first request inserts a `pending` record (unique _id),
 * the others wait for it to finish. A failed first attempt removes its record so the client may
 * retry. The same key with a different body is refused.
 */
export async function idempotent(
  ctx: Pick<AppContext, 'models' | 'clock'>,
  req: Request,
  principal: Principal,
  operation: string,
  work: () => Promise<Outcome>,
  /** Used when the client sent no key, e.g. the revision being submitted: a double click then replays too. */
  implicitKey?: string,
): Promise<Outcome> {
  const key = req.get('Idempotency-Key') ?? implicitKey;
  if (key === undefined) return work();
  if (!KEY.test(key)) {
    throw new AppError('bad_request', { zh: 'Idempotency-Key 格式无效（1–128 个字母、数字或 _ . : -）', en: 'Idempotency-Key must be 1–128 of A-Z a-z 0-9 _ . : -' });
  }
  const id = `${principal.role}:${principal.id}:${operation}:${key}`;
  const fingerprint = crypto
    .createHash('sha256')
    .update(`${req.method} ${req.originalUrl.split('?')[0]} ${JSON.stringify(req.body ?? null)}`)
    .digest('base64url');
  const { IdempotencyKey } = ctx.models;

  try {
    await IdempotencyKey.create({ _id: id, fingerprint, state: 'pending', createdAt: ctx.clock.now() });
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    return replay(ctx, id, fingerprint);
  }

  let outcome: Outcome;
  try {
    const first = await work();
    // Kept exactly as it goes over the wire, so a replay answers byte for byte the same: stored as
    // is, `undefined` fields would come back as null and dates as Date objects.
    outcome = { status: first.status, body: JSON.parse(JSON.stringify(first.body ?? null)) };
  } catch (err) {
    await IdempotencyKey.deleteOne({ _id: id, state: 'pending' });
    throw err;
  }
  await IdempotencyKey.updateOne({ _id: id }, { $set: { state: 'done', status: outcome.status, body: outcome.body } });
  return outcome;
}

async function replay(ctx: Pick<AppContext, 'models'>, id: string, fingerprint: string): Promise<Outcome> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const record = await ctx.models.IdempotencyKey.findById(id).lean();
    if (!record) throw new AppError('conflict', { zh: '相同请求的第一次尝试失败了，请重试', en: 'The first request with this key failed; retry it' });
    if (record.fingerprint !== fingerprint) {
      throw new AppError('unprocessable', {
        zh: '该 Idempotency-Key 已用于另一个不同的请求',
        en: 'This Idempotency-Key was already used for a different request',
      });
    }
    if (record.state === 'done') return { status: record.status as number, body: record.body };
    if (Date.now() > deadline) throw new AppError('conflict', { zh: '相同的请求仍在处理中', en: 'The same request is still being processed' });
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How long a client may repeat a request and get the first answer back. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;

/**
 * Removes finished idempotency records older than the retention (no TTL index: outside the portable
 * subset). Pending ones stay: their request may still be running or its client retrying.
 */
export async function purgeIdempotencyKeys(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  const cutoff = new Date(ctx.clock.now().getTime() - IDEMPOTENCY_RETENTION_MS);
  const result = await ctx.models.IdempotencyKey.deleteMany(ours({ state: 'done', createdAt: { $lt: cutoff } }));
  return result.deletedCount;
}
