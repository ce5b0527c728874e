import { Types } from 'mongoose';
import sift from 'sift';
import type { ApplicationDoc, StageState } from '../applications/applications.model';
import type { Request } from 'express';
import { formOf, historyEntry, loadVisible, queueFields, stageDeadlines, toView, transition } from '../applications/applications.service';
import { claimedBy, reserveIssuance, takeClaim } from '../applications/applications.store';
import { completeIssuance, markIssuance } from '../certificates/certificates.service';
import { afterDecision } from '../decisions/decisions.service';
import type { AppContext } from '../context';
import { findByIdInScope } from '../lib/database';
import { AppError, notFound } from '../lib/errors';
import { assertRight, countyWide, jurisdictionFilter } from '../lib/access';
import { can, type Principal } from '../lib/auth';
import { decrypt, idHash, openName } from '../lib/personal';
import { recordAccess } from '../audit/audit.service';
import { chinaDate, workingDaysBetween } from '../lib/workdays';
import { QUEUE_STATUSES, queueEntryPage, queueTotals, syncQueueEntry } from './queue.store';
import type { DecisionInput } from './review.schemas';

type Ctx = AppContext;

/** A claim is a lease: 30 minutes, renewed by claiming again; an expired lease is anyone's. */
export const LEASE_MS = 30 * 60 * 1000;


/**
 * Committed deadline first. The index {status, queueLevel, queueDivision, queueDeadline, _id}
 * (applications.model.ts) has every filter field as an equality or $in before the sort fields, so
 * MongoDB merges sorted index ranges instead of sorting or scanning the collection.
 */
export const QUEUE_SORT = { queueDeadline: 1, _id: 1 } as const;

/** Length of the division code a stage of each level carries: the township (9 digits) or the county (6). */
const STAGE_DIVISION_LENGTH = { township: 9, county: 6 } as const;

/**
 * What an officer's queue holds: applications waiting at the officer's level whose current stage
 * belongs to their jurisdiction (access.ts: a code of exactly the stage's length is an equality the
 * index serves, a broader one a prefix match). County-wide staff (admins) see every queue.
 */
export function queueScope(p: Principal): Record<string, unknown> {
  const base: Record<string, unknown> = { status: { $in: [...QUEUE_STATUSES] } };
  if (countyWide(p)) return base;
  const level = p.level ?? 'township';
  const divisions = jurisdictionFilter(p, 'queueDivision', STAGE_DIVISION_LENGTH[level]);
  if ('_id' in divisions) return divisions;
  return { ...base, queueLevel: level, ...divisions };
}

async function loadInScope(ctx: Ctx, p: Principal, id: string): Promise<ApplicationDoc> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const app = await findByIdInScope<ApplicationDoc>(ctx.models.Application, new Types.ObjectId(id), queueScope(p));
  if (!app) throw notFound({ zh: '您的待办中没有该申请', en: 'No such application in your queue' });
  return app;
}

export interface QueueQuery {
  type?: string;
  overdue?: boolean;
  mine?: boolean;
  /** A township (9-digit code) of the residence: narrows a county officer's or an admin's queue. */
  township?: string;
  /** `claimed`: held under a live lease; `unclaimed`: waiting, or its lease ran out (anyone's). */
  claim?: 'claimed' | 'unclaimed';
  limit: number;
  cursor?: string;
}

function encodeCursor(app: Pick<ApplicationDoc, '_id' | 'queueDeadline'>): string {
  return Buffer.from(`${app.queueDeadline ?? ''}|${app._id.toString()}`).toString('base64url');
}

function decodeCursor(cursor: string): { deadline: string; id: Types.ObjectId } {
  const [deadline, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (deadline === undefined || !id || !Types.ObjectId.isValid(id) || !/^(\d{4}-\d{2}-\d{2})?$/.test(deadline)) {
    throw new AppError('validation_failed', undefined, [{ path: 'cursor', code: 'format', messages: { zh: '翻页参数无效', en: 'Invalid cursor' } }]);
  }
  return { deadline, id: new Types.ObjectId(id) };
}

/** The officer's queue, committed deadline first, with cursor paging and totals per type. */
export async function queue(ctx: Ctx, p: Principal, q: QueueQuery) {
  const now = ctx.clock.now();
  const today = chinaDate(now);
  const scope = queueScope(p);
  const filters: Record<string, unknown>[] = [scope];
  if (q.type) filters.push({ type: q.type });
  if (q.overdue) filters.push({ queueDeadline: { $lt: today } });
  if (q.mine) filters.push({ status: 'in_review', 'claim.officerId': p.id, 'claim.until': { $gt: now } });
  if (q.township) filters.push({ division: { $regex: `^${q.township.replace(/\D/g, '')}` } });
  if (q.claim === 'claimed') filters.push({ status: 'in_review', 'claim.until': { $gt: now } });
  if (q.claim === 'unclaimed') filters.push({ $or: [{ status: 'pending' }, { 'claim.until': { $lte: now } }] });
  const base = filters.length === 1 ? filters[0]! : { $and: filters };
  const page: Record<string, unknown>[] = [base];
  if (q.cursor) {
    const c = decodeCursor(q.cursor);
    page.push({ $or: [{ queueDeadline: { $gt: c.deadline } }, { queueDeadline: c.deadline, _id: { $gt: c.id } }] });
  }
  const filter = page.length === 1 ? page[0]! : { $and: page };
  // The page is chosen among the slim queue entries (queue.store.ts), then its applications are read
  // by _id and each is checked against the same filter: an entry a crash left stale is left out and
  // repaired, never shown.
  const { entries, items, totals } = q.mine ? await heldPage(ctx, p, base, filter, q.limit) : await queuePage(ctx, base, filter, q.limit);
  return {
    items: items.map((a) => {
      const stage = a.stages[a.stageIndex];
      const claimed = a.status === 'in_review' && a.claim && new Date(a.claim.until) > now ? a.claim : null;
      return {
        id: a._id.toString(),
        number: a.number,
        type: a.type,
        status: claimed ? 'in_review' : 'pending',
        channel: a.channel,
        resident: { name: openName(ctx.keys.dataKey, a.resident), idNumber: a.resident.idMasked },
        division: a.division,
        stage: stage ? { id: stage.id, level: stage.level, name: stage.name } : null,
        committedDeadline: stage?.committedDeadline ?? null,
        statutoryDeadline: stage?.statutoryDeadline ?? null,
        deadlineProvisional: stage?.provisional === true,
        overdue: !!stage?.committedDeadline && stage.committedDeadline < today,
        statutoryOverdue: !!stage?.statutoryDeadline && stage.statutoryDeadline < today,
        claim: claimed ? { officerId: claimed.officerId, officerName: claimed.officerName, until: claimed.until, mine: claimed.officerId === p.id } : null,
        submittedAt: a.submittedAt,
        documents: a.documents.length,
      };
    }),
    next: entries.length === q.limit ? encodeCursor(entries.at(-1)! as Pick<ApplicationDoc, '_id' | 'queueDeadline'>) : null,
    totals,
  };
}

type Page = { entries: Pick<ApplicationDoc, '_id' | 'queueDeadline'>[]; items: ApplicationDoc[]; totals: Record<string, number> };

async function queuePage(ctx: Ctx, base: Record<string, unknown>, filter: Record<string, unknown>, limit: number): Promise<Page> {
  const entries = await queueEntryPage(ctx.models, filter, QUEUE_SORT, limit);
  const loaded = await Promise.all(entries.map((e) => ctx.models.Application.findById(e._id, { history: 0, formSealed: 0 }).lean<ApplicationDoc>()));
  const matches = sift(filter);
  const items = loaded.filter((a, i): a is ApplicationDoc => {
    if (a && matches(a)) return true;
    void syncQueueEntry(ctx.models, entries[i]!._id);
    return false;
  });
  return { entries, items, totals: await queueTotals(ctx.models, base) };
}

/**
 * The officer's own claims: a handful of cases listed under their claims key (applications.store.ts),
 * read by `_id` and sorted and counted in memory, rather than another pass over the queue entries.
 */
async function heldPage(ctx: Ctx, p: Principal, base: Record<string, unknown>, filter: Record<string, unknown>, limit: number): Promise<Page> {
  const held = (await claimedBy(ctx, p.id, base)).sort((a, b) => (a.queueDeadline ?? '').localeCompare(b.queueDeadline ?? '') || a._id.toString().localeCompare(b._id.toString()));
  const totals: Record<string, number> = {};
  for (const a of held) totals[a.type] = (totals[a.type] ?? 0) + 1;
  const items = held.filter(sift(filter)).slice(0, limit);
  return { entries: items, items, totals };
}

/**
 * Every ID number of a case in full (staff see them masked): an explicit act of one officer or
 * admin about one case, written to the case's access log before anything is shown.
 */
export async function revealIdNumbers(ctx: Ctx, req: Request, p: Principal, id: string) {
  if (!can(p, 'application:read-any')) throw notFound();
  const app = await loadVisible(ctx, p, id);
  await recordAccess(ctx, req, p, app._id.toString(), 'view', 'id-numbers');
  return { app, form: formOf(ctx, app), residentIdNumber: decrypt(ctx.keys.dataKey, app.resident.idNumberEnc) };
}

/** Officers do not handle cases that concern themselves (回避): their own ID number in the case. */
async function assertNotConcerned(ctx: Ctx, p: Principal, app: ApplicationDoc): Promise<void> {
  const account = await ctx.models.Account.findById(p.id, { idHash: 1 }).lean();
  const own = account?.idHash;
  if (!own) return;
  const hashes = new Set<string>([app.resident.idHash]);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === 'idNumber' && typeof x === 'string') hashes.add(idHash(ctx.keys.idHash, x.toUpperCase()));
        else walk(x);
      }
    }
  };
  walk(formOf(ctx, app));
  if (hashes.has(own)) {
    throw new AppError('forbidden', { zh: '该申请涉及您本人，请回避，由其他工作人员办理', en: 'This application concerns you; another officer must handle it' });
  }
}

function requireDecider(p: Principal): void {
  assertRight(p, 'application:decide', { zh: '只有审核人员可以办理', en: 'Only officers handle applications' });
}

export async function claim(ctx: Ctx, p: Principal, id: string) {
  requireDecider(p);
  const app = await loadInScope(ctx, p, id);
  await assertNotConcerned(ctx, p, app);
  const now = ctx.clock.now();
  const renewal = app.status === 'in_review' && app.claim?.officerId === p.id && new Date(app.claim.until) > now;
  // On the revision read: of several concurrent claims by the same officer one writes the history
  // line; the others find the claim already theirs and answer with it.
  const updated = await takeClaim(
    ctx,
    app,
    { officerId: p.id, officerName: p.name, until: new Date(now.getTime() + LEASE_MS) },
    renewal ? undefined : historyEntry(ctx, p, 'claim', app.status, 'in_review', { stage: app.stages[app.stageIndex]?.id }),
  );
  if (updated) return toView(ctx, updated, p);
  const current = await loadInScope(ctx, p, id);
  const mine = current.status === 'in_review' && current.claim?.officerId === p.id && new Date(current.claim.until) > now && current.stageIndex === app.stageIndex;
  if (mine) return toView(ctx, current, p);
  throw new AppError('conflict', { zh: '该申请已由其他工作人员认领', en: 'Another officer holds this application' });
}

/** The holder gives the claim back; an admin (county supervisor) may break anyone's. */
export async function release(ctx: Ctx, p: Principal, id: string) {
  const app = await loadInScope(ctx, p, id);
  const breaks = can(p, 'claim:break');
  const holder = breaks ? {} : { 'claim.officerId': p.id };
  const action = breaks && app.claim?.officerId !== p.id ? 'break-claim' : 'release';
  const updated = await transition(
    ctx,
    app,
    'release',
    { status: 'pending', claim: null },
    historyEntry(ctx, p, action, 'in_review', 'pending', app.claim ? { reason: `claim of ${app.claim.officerName}` } : {}),
    { ...holder, issuing: null },
  );
  return toView(ctx, updated, p);
}

/**
 * Administrative Licensing Law art. 32: incomplete materials are named once and completely, on the
 * spot or within five days of receipt (working days, art. 82). Art. 43 bars the deciding authority
 * above from asking for the materials again, so a case is returned once, whichever stage returns it
 * (our reading, see docs/domain-notes.md). The receipt is the first submission.
 */
export const RETURN_WITHIN_WORKING_DAYS = 5;

function checkReturn(ctx: Ctx, app: ApplicationDoc, missing: string[], now: Date): void {
  const kinds = new Set(ctx.policy.type(app.type)?.documents.map((d) => d.kind));
  const unknown = missing.map((kind, i) => ({ kind, i })).filter((m) => !kinds.has(m.kind));
  if (unknown.length) {
    throw new AppError(
      'validation_failed',
      undefined,
      unknown.map((m) => ({
        path: `missing.${m.i}`,
        code: 'enum',
        messages: { zh: `“${m.kind}”不是本证件材料清单中的材料`, en: `"${m.kind}" is not a document kind of this certificate's catalogue` },
      })),
    );
  }
  if (app.history.some((h) => h.action === 'return')) {
    throw new AppError(
      'conflict',
      { zh: '本案已退回补正过一次；依照《行政许可法》第三十二条，应一次性告知需要补正的全部内容，不能再次退回', en: 'This case was already returned once: the Administrative Licensing Law (art. 32) allows one complete request for supplements' },
      undefined,
      { rule: 'return_once' },
    );
  }
  const days = app.submittedAt ? workingDaysBetween(app.submittedAt, now) : 0;
  if (days > RETURN_WITHIN_WORKING_DAYS) {
    throw new AppError(
      'conflict',
      {
        zh: `收到申请已 ${days} 个工作日，超过《行政许可法》第三十二条规定的五日，不能再退回补正；材料不全的应按现有材料作出决定`,
        en: `The application was received ${days} working days ago: a return for supplement is possible within five (Administrative Licensing Law art. 32); decide on the materials as they are`,
      },
      undefined,
      { rule: 'return_within_five_working_days' },
    );
  }
}

export type { DecisionInput };

/**
 * Only the holder of a live claim decides, in one conditional update. A final approval first
 * reserves the decision (`issuing`), then signs and stores the certificate together with the
 * approval (certificates.service), so exactly one certificate follows however many requests race.
 */
export async function decide(ctx: Ctx, p: Principal, id: string, input: DecisionInput) {
  requireDecider(p);
  const app = await loadInScope(ctx, p, id);
  const now = ctx.clock.now();
  const holds = { 'claim.officerId': p.id, 'claim.until': { $gt: now }, stageIndex: app.stageIndex, issuing: null };
  const notHolder = (): AppError => new AppError('conflict', { zh: '请先认领该申请（或认领已过期）', en: 'Claim the application first (or your claim expired)' });
  if (app.status !== 'in_review' || app.claim?.officerId !== p.id || new Date(app.claim.until) <= now) throw notHolder();
  const stage = app.stages[app.stageIndex]!;
  const decided: StageState = { ...stage, decidedAt: now };
  const stages = app.stages.map((s, i) => (i === app.stageIndex ? decided : s));
  const decision = { action: input.action, reason: input.reason, by: { id: p.id, role: p.role, name: p.name }, at: now };
  const entryExtra = { stage: stage.id, reason: input.reason, ruleSetVersion: app.ruleSetVersion };

  if (input.action === 'reject') {
    const updated = await transition(ctx, app, 'reject', { status: 'rejected', stages, decision, decidedAt: now, claim: null }, historyEntry(ctx, p, 'reject', 'in_review', 'rejected', entryExtra), holds);
    await afterDecision(ctx, updated);
    return toView(ctx, updated, p);
  }
  if (input.action === 'return') {
    checkReturn(ctx, app, input.missing ?? [], now);
    const updated = await transition(
      ctx,
      app,
      'return',
      { status: 'returned', decision, returnedAt: now, missing: input.missing ?? [], claim: null },
      historyEntry(ctx, p, 'return', 'in_review', 'returned', { ...entryExtra, missing: input.missing }),
      holds,
    );
    await afterDecision(ctx, updated);
    return toView(ctx, updated, p);
  }

  const last = app.stageIndex === app.stages.length - 1;
  if (!last) {
    const next = { ...app.stages[app.stageIndex + 1]!, enteredAt: now };
    Object.assign(next, stageDeadlines(ctx, app.type, next, now, 0));
    stages[app.stageIndex + 1] = next;
    const updated = await transition(
      ctx,
      app,
      'approve',
      { status: 'pending', stages, stageIndex: app.stageIndex + 1, decision, claim: null, ...queueFields(next) },
      historyEntry(ctx, p, 'approve', 'in_review', 'pending', { ...entryExtra, reason: input.reason ?? `${stage.id} → ${next.id}` }),
      holds,
    );
    return toView(ctx, updated, p);
  }

  await markIssuance(ctx, app._id, now);
  const reserved = await reserveIssuance(ctx, app, { at: now, by: decision.by, reason: input.reason }, holds);
  if (!reserved) throw new AppError('conflict', { zh: '该申请已作出决定或状态已改变', en: 'The application was already decided or changed' });
  const approved = await completeIssuance(ctx, reserved);
  return toView(ctx, approved, p);
}
