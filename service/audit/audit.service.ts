import type { Request } from 'express';
import type { AppContext } from '../context';
import { actorOf } from '../applications/applications.service';
import { readsOthers } from '../lib/access';
import type { Principal } from '../lib/auth';
import type { AccessBucketDoc, AccessEntry } from './audit.model';

export type AccessKind = 'view' | 'history' | 'download';

/** Records a staff member's read of an application (officers and admins; residents reading their own are not). */
export async function recordAccess(ctx: Pick<AppContext, 'models' | 'clock'>, req: Request, p: Principal, applicationId: string, what: AccessKind, detail?: string): Promise<void> {
  if (!readsOthers(p)) return;
  await pushEntry(ctx, applicationId, entryOf(ctx, req, p, detail ? `${what}:${detail}` : what));
}

const entryOf = (ctx: Pick<AppContext, 'clock'>, req: Request, p: Principal, what: string): AccessEntry => ({
  at: ctx.clock.now(),
  actor: actorOf(p),
  what,
  ...(req.id === undefined ? {} : { requestId: String(req.id) }),
});

/**
 * Records a staff search or register page as a read of every application it showed, naming what it
 * was by (`search:idNumber`, `ledger:csv`), never the value searched for.
 */
export async function recordSearch(ctx: Pick<AppContext, 'models' | 'clock'>, req: Request, p: Principal, what: string, applicationIds: string[]): Promise<void> {
  const entry = entryOf(ctx, req, p, what);
  for (const id of applicationIds) await pushEntry(ctx, id, entry);
}

async function pushEntry(ctx: Pick<AppContext, 'models'>, applicationId: string, entry: AccessEntry): Promise<void> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      await ctx.models.AccessLog.updateOne({ _id: applicationId }, { $push: { entries: entry } }, { upsert: true });
      return;
    } catch (err) {
      // Two first reads of one application race to create its bucket; the loser adds to it.
      if ((err as { code?: number }).code !== 11000 || attempt >= 3) throw err;
    }
  }
}

/** The first 1,000 reads of an application, oldest first. */
export async function accessLog(ctx: Pick<AppContext, 'models'>, applicationId: string): Promise<AccessEntry[]> {
  const bucket = await ctx.models.AccessLog.findById(applicationId).lean<AccessBucketDoc>();
  return (bucket?.entries ?? []).sort((a, b) => new Date(a.at).getTime() - new Date(b.at).getTime()).slice(0, 1000);
}

/**
 * Start-up, once: moves entries of the former one-document-per-read log (`access_log`) into the
 * buckets. One read of the old collection; each bucket gets its entries in one write, then the moved
 * entries are deleted, so a crash in between at worst moves an entry twice, never loses one.
 */
export async function migrateAccessLog(ctx: Pick<AppContext, 'conn' | 'models'>): Promise<number> {
  const legacy = ctx.conn.db!.collection<AccessEntry & { _id: unknown; applicationId: string }>('access_log');
  const docs = await legacy.find({}).toArray();
  if (docs.length === 0) return 0;
  const byApplication = new Map<string, typeof docs>();
  for (const d of docs) byApplication.set(d.applicationId, [...(byApplication.get(d.applicationId) ?? []), d]);
  for (const [applicationId, entries] of byApplication) {
    const moved = entries.map(({ at, actor, what, requestId }): AccessEntry => ({ at, actor, what, ...(requestId ? { requestId } : {}) }));
    await ctx.models.AccessLog.updateOne({ _id: applicationId }, { $push: { entries: { $each: moved } } }, { upsert: true });
    await legacy.deleteMany({ _id: { $in: entries.map((e) => e._id) } });
  }
  return docs.length;
}
