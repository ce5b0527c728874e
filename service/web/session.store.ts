import type { AppContext } from '../context';
import { trustedFilter } from '../lib/database';

/** The page sessions' one filtered operation: the housekeeping's purge of sessions idle since `cutoff` (session.ts). */
export async function deleteSessionsIdleSince(ctx: Pick<AppContext, 'models'>, cutoff: Date): Promise<number> {
  return (await ctx.models.WebSession.deleteMany(trustedFilter({ lastSeenAt: { $lt: cutoff } }))).deletedCount;
}
