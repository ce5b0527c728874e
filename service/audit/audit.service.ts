import type { Request } from 'express';
import type { AppContext } from '../context';
import { actorOf } from '../applications/applications.service';
import type { Principal } from '../lib/auth';

export type AccessKind = 'view' | 'history' | 'download';

/** Records a staff member's read of an application (officers and admins; residents reading their own are not). */
export async function recordAccess(ctx: Pick<AppContext, 'models' | 'clock'>, req: Request, p: Principal, applicationId: string, what: AccessKind, detail?: string): Promise<void> {
  if (p.role !== 'officer' && p.role !== 'admin') return;
  await ctx.models.AccessLog.create({
    at: ctx.clock.now(),
    applicationId,
    actor: actorOf(p),
    what: detail ? `${what}:${detail}` : what,
    requestId: req.id === undefined ? undefined : String(req.id),
  });
}

export async function accessLog(ctx: Pick<AppContext, 'models'>, applicationId: string) {
  return ctx.models.AccessLog.find({ applicationId }, { _id: 0 }).sort({ at: 1 }).limit(1000).lean();
}
