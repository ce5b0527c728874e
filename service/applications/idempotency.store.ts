import type { AppContext } from '../context';
import { trustedFilter } from '../lib/database';

/** The idempotency records' one filtered operation: the housekeeping's purge (idempotency.ts says why). */
export async function deleteIdempotencyRecordsBefore(ctx: Pick<AppContext, 'models'>, cutoff: Date): Promise<number> {
  return (await ctx.models.IdempotencyKey.deleteMany(trustedFilter({ createdAt: { $lt: cutoff } }))).deletedCount;
}
