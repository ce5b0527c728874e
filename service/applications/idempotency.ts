import crypto from 'node:crypto';
import type { Request } from 'express';
import type { AppContext } from '../context';
import type { Principal } from '../lib/auth';
import { crashPoint } from '../lib/crash';
import { AppError } from '../lib/errors';
import { deleteIdempotencyRecordsBefore } from './idempotency.store';

/**
 * What a replay needs of the first outcome: its status and the resource it made or changed. The
 * body is rendered again from the resource on every replay, so no response (with its ID numbers and
 * form) is ever stored in the idempotency records.
 */
export interface Outcome {
  status: number;
  resourceId: string;
}

const KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
const WAIT_MS = 10_000;

export interface IdempotentRequest {
  req: Request;
  principal: Principal;
  operation: string;
  /** The validated input the outcome depends on; fingerprinted, so the same key with other input is refused. */
  input: unknown;
  /** Used when the client sent no key, e.g. the revision being submitted: a double click then replays too. */
  implicitKey?: string;
}

/**
 * Runs `work` once per Idempotency-Key (per caller and operation) and replays its first outcome for
 * every repeat, even a concurrent one: the first request inserts a `pending` record (unique _id),
 * the others wait for it to finish. A failed first attempt removes its record so the client may
 * retry. A `pending` record older than `config.idempotencyTakeoverSeconds` belongs to a request that
 * died with its process (a crash, a kill during a deploy): the next retry takes it over with one
 * conditional update instead of waiting for it for ever.
 */
type Ctx = Pick<AppContext, 'models' | 'clock' | 'config'>;

export async function idempotent<T>(
  ctx: Ctx,
  r: IdempotentRequest,
  work: () => Promise<Outcome>,
  render: (resourceId: string) => Promise<T>,
): Promise<{ status: number; body: T }> {
  const key = r.req.get('Idempotency-Key') ?? r.implicitKey;
  const run = async (): Promise<{ status: number; body: T }> => {
    const outcome = await work();
    return { status: outcome.status, body: await render(outcome.resourceId) };
  };
  if (key === undefined) return run();
  if (!KEY.test(key)) {
    throw new AppError('bad_request', { zh: 'Idempotency-Key 格式无效（1–128 个字母、数字或 _ . : -）', en: 'Idempotency-Key must be 1–128 of A-Z a-z 0-9 _ . : -' });
  }
  const id = `${r.principal.role}:${r.principal.id}:${r.operation}:${key}`;
  const fingerprint = crypto
    .createHash('sha256')
    .update(`${r.req.method} ${r.req.originalUrl.split('?')[0]} ${JSON.stringify(r.input ?? null)}`)
    .digest('base64url');
  const { IdempotencyKey } = ctx.models;

  let attemptAt = ctx.clock.now();
  try {
    await IdempotencyKey.create({ _id: id, fingerprint, state: 'pending', createdAt: attemptAt });
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    const taken = await waitOrTakeOver(ctx, id, fingerprint);
    if ('status' in taken) return { status: taken.status, body: await render(taken.resourceId) };
    attemptAt = taken.attemptAt;
  }
  crashPoint('idempotency-after-pending');

  let outcome: Outcome;
  try {
    outcome = await work();
  } catch (err) {
    await IdempotencyKey.deleteOne({ _id: id, state: 'pending', createdAt: attemptAt });
    throw err;
  }
  await IdempotencyKey.updateOne({ _id: id }, { $set: { state: 'done', status: outcome.status, resourceId: outcome.resourceId } });
  return { status: outcome.status, body: await render(outcome.resourceId) };
}

/** Waits for the first request's outcome; takes the record over when that request is long dead. */
async function waitOrTakeOver(ctx: Ctx, id: string, fingerprint: string): Promise<Outcome | { attemptAt: Date }> {
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
    if (record.state === 'done') return { status: record.status as number, resourceId: String(record.resourceId) };
    const now = ctx.clock.now();
    if (record.createdAt && now.getTime() - new Date(record.createdAt).getTime() > ctx.config.idempotencyTakeoverSeconds * 1000) {
      const taken = await ctx.models.IdempotencyKey.findOneAndUpdate(
        { _id: id, state: 'pending', createdAt: record.createdAt },
        { $set: { createdAt: now } },
        { returnDocument: 'after' },
      ).lean();
      if (taken) return { attemptAt: now };
      continue;
    }
    if (Date.now() > deadline) throw new AppError('conflict', { zh: '相同的请求仍在处理中', en: 'The same request is still being processed' });
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** How long a client may repeat a request and get the first answer back. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600 * 1000;

/**
 * Removes idempotency records older than the retention (no TTL index: outside the portable subset),
 * finished ones and pending ones alike: a pending record that old belongs to a request long dead.
 */
export async function purgeIdempotencyKeys(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  const cutoff = new Date(ctx.clock.now().getTime() - IDEMPOTENCY_RETENTION_MS);
  return deleteIdempotencyRecordsBefore(ctx, cutoff);
}
