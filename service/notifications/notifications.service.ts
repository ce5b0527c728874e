import crypto from 'node:crypto';
import { applicantByIdHash } from '../accounts/accounts.store';
import type { ApplicationDoc, HistoryEntry } from '../applications/applications.model';
import { submittedChangedSince } from '../applications/applications.store';
import type { ComplaintDoc } from '../complaints/complaints.model';
import type { AppContext } from '../context';
import { DECISION_TITLES, KIND_OF_ACTION, type DecisionDoc, type DecisionKind } from '../decisions/decisions.model';
import type { Logger } from '../lib/logger';
import type { NotificationDoc, NotificationEvent, Recipient } from './notifications.model';
import { claimDue, complaintsAnsweredSince, decisionsSince, deleteFinished } from './notifications.store';

/**
 * The transactional outbox for messages to applicants.
 *
 * - Enqueue: right after a transition commits, one record whose `_id` is derived from the history
 *   entry (`<application id>:<action>:<instant>`) or the complaint (`complaint:<id>:answered`).
 *   A repeat of the same event is a duplicate key and changes nothing.
 * - Crash between the transition and the enqueue: the catch-up sweep at start-up re-derives the
 *   records from the applications' history (and the answered complaints) of the last day, with the
 *   same keys, so a lost enqueue is made good and an existing one is not doubled. An enqueue that
 *   merely failed (the database away for a moment) is kept in memory and retried by the worker.
 *   The sweep reads every application changed in the window, which on the embedded database means
 *   every application: so it runs once at start, never on a timer.
 * - Dispatch: a dispatcher claims one due record with a conditional update (state + lease), so two
 *   dispatchers never hold the same record; it delivers, then marks it delivered. A failure puts
 *   the record back with exponential backoff; after MAX_ATTEMPTS it is parked as `dead` for an
 *   operator. A dispatcher that dies mid-delivery leaves a lease that expires and the record is
 *   tried again: that window (delivered but not yet marked) is the only way a message can go out
 *   twice, and the outbox key travels with the message so a gateway can drop the repeat.
 */

type NotifyCtx = Pick<AppContext, 'models' | 'clock' | 'policy'> & { logger?: Pick<Logger, 'warn'> };
type DispatchCtx = Pick<AppContext, 'models' | 'clock' | 'notifier'> & { logger?: Pick<Logger, 'warn' | 'info'> };

export const LEASE_MS = 60_000;
/** Shorter than the lease, so a slow gateway cannot make two dispatchers hold one message. */
export const DELIVERY_TIMEOUT_MS = 20_000;
export const MAX_ATTEMPTS = 10;
const BACKOFF_BASE_MS = 30_000;
const BACKOFF_MAX_MS = 3_600_000;
/** How far back the catch-up sweep looks; it runs at start, and a restart after a crash is quick. */
export const SWEEP_WINDOW_MS = 24 * 3_600_000;
/**
 * Delivered records stay this long, then go: the outbox is the dispatcher's working set, not an
 * archive (the history is). Past twice the sweep's window no sweep can derive the key again.
 */
export const DELIVERED_RETENTION_MS = 2 * SWEEP_WINDOW_MS;
/** Parked (`dead`) records stay a month for an operator to look at. */
export const DEAD_RETENTION_MS = 30 * 24 * 3_600_000;
/** How often a worker looks at the outbox when nothing tells it to: other instances' messages, expired leases. */
export const IDLE_CHECK_MS = 60_000;

/** Wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, … capped at an hour. */
export const backoffMs = (attempts: number): number => Math.min(BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1), BACKOFF_MAX_MS);

interface Draft {
  key: string;
  event: NotificationEvent;
  text: string;
}

type Addressed = Pick<ApplicationDoc, 'applicantId' | 'terminal'> & { resident?: Pick<ApplicationDoc['resident'], 'idHash'> };

/**
 * The applicant's account; for a kiosk filing, the account of the resident it was filed for when
 * they have one (their phone on record, not the terminal), else the terminal that filed it.
 */
async function recipientOf(ctx: Pick<AppContext, 'models'>, app: Addressed): Promise<Recipient> {
  if (app.applicantId) return { applicantId: app.applicantId };
  if (app.resident?.idHash) {
    // Through the resident's login key, by _id. A failed lookup must not lose the message: it then
    // goes to the kiosk, as before accounts were linked.
    const account = await applicantByIdHash(ctx, app.resident.idHash).catch(() => null);
    if (account) return { applicantId: account._id.toString() };
  }
  if (app.terminal) return { terminalId: app.terminal.terminalId, township: app.terminal.township };
  return {};
}

const typeName = (ctx: Pick<AppContext, 'policy'>, type: string): string => ctx.policy.type(type)?.names.zh ?? type;

/** Free text inside a sentence: without its own closing punctuation, so the sentence ends once. */
const clause = (text: string | undefined): string => (text ?? '').trim().replace(/[。．.！!；;，,、\s]+$/u, '');

/** Document kinds as the catalogue names them in Chinese (the resident never sees our codes). */
function documentNames(ctx: Pick<AppContext, 'policy'>, type: string, kinds: string[] | undefined): string {
  const docs = ctx.policy.type(type)?.documents ?? [];
  return (kinds ?? []).map((k) => docs.find((d) => d.kind === k)?.name.zh ?? k).join('、');
}

/** The written decision a decision's message names: its kind and number. */
export type WrittenDecision = Pick<DecisionDoc, 'kind' | 'number'>;

/** The decision document a history entry calls for: a refusal, a return, a final approval (none for a stage's approval). */
export function decisionKindOf(entry: Pick<HistoryEntry, 'action' | 'to'>): DecisionKind | undefined {
  if (entry.action === 'approve' && entry.to !== 'approved') return undefined;
  return KIND_OF_ACTION[entry.action];
}

/** Where the resident gets a written decision: named by title and number when it was written. */
function decisionLine(decision: WrittenDecision | null, kind: DecisionKind): string {
  const title = `《${DECISION_TITLES[kind].zh}》`;
  return decision
    ? `${title}（${decision.number}）已出具，可登录本系统在“我的办件”中下载，或到乡镇便民服务中心领取。`
    : `${title}可登录本系统在“我的办件”中下载，或到乡镇便民服务中心领取。`;
}

/**
 * The message a history entry calls for, if the applicant should hear about it. A decision's
 * message (refusal, return, final approval) names its written decision, so it waits for it:
 * without `decision` it is not due yet (undefined); `null` means the document could not be written
 * and the message goes without its number.
 */
export function messageFor(ctx: Pick<AppContext, 'policy'>, app: ApplicationDoc, entry: HistoryEntry, decision?: WrittenDecision | null): Draft | undefined {
  const name = typeName(ctx, app.type);
  const number = app.number ?? '';
  const stage = app.stages.find((s) => s.id === entry.stage) ?? app.stages[app.stageIndex];
  const key = `${app._id.toString()}:${entry.action}:${new Date(entry.at).toISOString()}`;
  const kind = decisionKindOf(entry);
  if (kind && decision === undefined) return undefined;
  switch (entry.action) {
    case 'submit':
      return {
        key,
        event: 'submitted',
        text: `您的${name}申请已受理，受理编号 ${number}。下一步：由${stage?.name.zh ?? ''}环节办理，承诺于 ${stage?.committedDeadline ?? ''} 前办结；可凭受理编号和身份证号码（或查询码）查询进度。`,
      };
    case 'resubmit':
      return {
        key,
        event: 'resubmitted',
        text: `您补正后的${name}申请（受理编号 ${number}）已重新提交。下一步：由${stage?.name.zh ?? ''}环节办理，承诺于 ${stage?.committedDeadline ?? ''} 前办结。`,
      };
    case 'return':
      return {
        key,
        event: 'returned',
        text: `您的${name}申请（受理编号 ${number}）需要补正：${documentNames(ctx, app.type, entry.missing)}。${entry.reason ? `说明：${clause(entry.reason)}。` : ''}${decisionLine(decision!, 'supplement')}下一步：请登录本系统或到乡镇便民服务中心补齐后重新提交；补正期间办理时限暂停计算。`,
      };
    case 'reject':
      return {
        key,
        event: 'rejected',
        text: `您的${name}申请（受理编号 ${number}）未获批准，理由：${clause(entry.reason)}。${decisionLine(decision!, 'refusal')}下一步：如有异议，可在本系统提出投诉，或自收到决定书之日起六十日内申请行政复议、六个月内提起行政诉讼。`,
      };
    case 'approve': {
      if (!kind) return undefined;
      const serial = (entry as HistoryEntry & { certificateSerial?: string }).certificateSerial ?? app.certificateSerial ?? '';
      return {
        key,
        event: 'approved',
        text: `您的${name}申请（受理编号 ${number}）已批准，证件编号 ${serial}。${decisionLine(decision!, 'approval')}下一步：登录本系统下载或打印电子证件，或到乡镇便民服务中心领取；证件可扫描二维码验证。`,
      };
    }
    case 'revoke-certificate': {
      const serial = (entry as HistoryEntry & { certificateSerial?: string }).certificateSerial ?? app.certificateSerial ?? '';
      return {
        key,
        event: 'certificate-revoked',
        text: `您的${name}（证件编号 ${serial}）已被注销，理由：${entry.reason ?? ''}。下一步：如有异议，可依法申请行政复议或提起行政诉讼。`,
      };
    }
    case 'certificate-superseded':
      return {
        key,
        event: 'certificate-superseded',
        text: `您的${name}（证件编号 ${app.certificateSerial ?? ''}）因夫妻已获准再生育（证件编号 ${entry.certificateSerial ?? ''}）而相应注销。如有疑问，请联系乡镇计生办。`,
      };
    case 'recompute-deadline': {
      const before = entry.deadlines?.before.committed;
      const after = entry.deadlines?.after.committed;
      if (!after || after === before) return undefined;
      return {
        key,
        event: 'deadline-changed',
        text: `您的${name}申请（受理编号 ${number}）按国务院公布的节假日安排重新计算办理期限，承诺办结日期由 ${before ?? ''} 顺延至 ${after}。`,
      };
    }
    default:
      return undefined;
  }
}

interface Owner {
  applicationId: string;
  applicationNumber?: string;
  recipient: Recipient;
}

const ownerOf = async (ctx: Pick<AppContext, 'models'>, app: Pick<ApplicationDoc, '_id' | 'number'> & Addressed): Promise<Owner> => ({
  applicationId: app._id.toString(),
  applicationNumber: app.number,
  recipient: await recipientOf(ctx, app),
});

/** Messages enqueued in this process since the worker last looked: it dispatches at once instead of polling. */
let enqueued = 0;
/** Enqueues that failed (database away); the worker retries them. Bounded: the start-up sweep is the backstop. */
const failedEnqueues: { owner: Owner; draft: Draft }[] = [];
const MAX_FAILED_ENQUEUES = 10_000;

function rememberFailed(ctx: { logger?: Pick<Logger, 'warn'> }, owner: Owner, draft: Draft, err: unknown): void {
  ctx.logger?.warn({ err: String(err), notification: draft.key }, 'could not enqueue a notification; will retry');
  if (failedEnqueues.length < MAX_FAILED_ENQUEUES) failedEnqueues.push({ owner, draft });
}

/** Inserts the record unless its key is already there; true when this call created it. */
async function insertOnce(ctx: Pick<AppContext, 'models' | 'clock'>, owner: Owner, draft: Draft): Promise<boolean> {
  const now = ctx.clock.now();
  try {
    await ctx.models.Notification.create({ _id: draft.key, event: draft.event, ...owner, text: draft.text, state: 'pending', attempts: 0, nextAttemptAt: now, createdAt: now });
    enqueued += 1;
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 11000) return false;
    throw err;
  }
}

/**
 * Called once after every committed transition with the application as it now stands: its last
 * history entry is the one just written; a decision's message again once its written decision is
 * stored (`decision`, see `messageFor`). A failure here must not undo or hide the transition the
 * caller already made, so it is logged and the catch-up sweep enqueues the message later.
 */
export async function enqueueNotification(ctx: NotifyCtx, app: ApplicationDoc, decision?: WrittenDecision | null): Promise<void> {
  const entry = app.history.at(-1);
  const draft = entry && messageFor(ctx, app, entry, decision);
  if (!draft) return;
  const owner = await ownerOf(ctx, app);
  await insertOnce(ctx, owner, draft).catch((err: unknown) => rememberFailed(ctx, owner, draft, err));
}

export function complaintDraft(ctx: Pick<AppContext, 'policy'>, complaint: ComplaintDoc): Draft {
  return {
    key: `complaint:${complaint._id.toString()}:answered`,
    event: 'complaint-answered',
    text: `您就${typeName(ctx, complaint.type)}申请（受理编号 ${complaint.applicationNumber ?? ''}）提出的投诉已答复：${clause(complaint.answer?.text)}。下一步：登录本系统查看答复；如仍有异议，可向县卫生健康局反映。`,
  };
}

const complaintOwner = (c: ComplaintDoc): Owner => ({ applicationId: c.applicationId, applicationNumber: c.applicationNumber, recipient: c.recipient });

export async function enqueueComplaintAnswered(ctx: NotifyCtx, complaint: ComplaintDoc): Promise<void> {
  const draft = complaintDraft(ctx, complaint);
  const owner = complaintOwner(complaint);
  await insertOnce(ctx, owner, draft).catch((err: unknown) => rememberFailed(ctx, owner, draft, err));
}

/** Retries the enqueues that failed; those failing again stay for the next round. */
async function retryFailedEnqueues(ctx: NotifyCtx): Promise<void> {
  for (const item of failedEnqueues.splice(0)) {
    await insertOnce(ctx, item.owner, item.draft).catch((err: unknown) => rememberFailed(ctx, item.owner, item.draft, err));
  }
}

/** Removes delivered records past their retention and parked ones past theirs (no TTL index: outside the portable subset). */
export async function purgeNotifications(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  const now = ctx.clock.now().getTime();
  return deleteFinished(ctx, new Date(now - DELIVERED_RETENTION_MS), new Date(now - DEAD_RETENTION_MS));
}

/**
 * Re-derives the outbox from what happened since `since`: every notifiable history entry of the
 * applications changed since then, and every complaint answered since then. Reads a projection of
 * the few fields the messages need, one document at a time.
 */
export async function sweepMissedNotifications(ctx: NotifyCtx, since: Date): Promise<number> {
  let created = 0;
  const apps = submittedChangedSince(ctx, since, {
    number: 1,
    type: 1,
    applicantId: 1,
    terminal: 1,
    'resident.idHash': 1,
    stages: 1,
    stageIndex: 1,
    certificateSerial: 1,
    history: 1,
  });
  // The written decisions of the window, to name in the decisions' messages (one read, not one per case).
  const decisions = new Map<string, DecisionDoc[]>();
  for (const d of await decisionsSince(ctx, new Date(since.getTime() - 60_000))) {
    decisions.set(d.applicationId, [...(decisions.get(d.applicationId) ?? []), d]);
  }
  /** The decision written for an entry: of its kind, decided at the entry's instant (within a second: two clock readings). */
  const writtenFor = (app: ApplicationDoc, entry: HistoryEntry): WrittenDecision | null => {
    const kind = decisionKindOf(entry);
    const at = new Date(entry.at).getTime();
    return decisions.get(app._id.toString())?.find((d) => d.kind === kind && Math.abs(new Date(d.decidedAt).getTime() - at) < 1_000) ?? null;
  };
  for await (const app of apps) {
    for (const entry of app.history) {
      if (new Date(entry.at) < since) continue;
      const draft = messageFor(ctx, app, entry, decisionKindOf(entry) ? writtenFor(app, entry) : undefined);
      if (draft && (await insertOnce(ctx, await ownerOf(ctx, app), draft))) created += 1;
    }
  }
  for await (const complaint of complaintsAnsweredSince(ctx, since)) {
    const draft = complaintDraft(ctx, complaint);
    if (await insertOnce(ctx, complaintOwner(complaint), draft)) created += 1;
  }
  return created;
}

/** Takes one due record for this dispatcher: a pending one whose time has come, or one whose lease expired. */
function claimNext(ctx: DispatchCtx, owner: string): Promise<NotificationDoc | null> {
  return claimDue(ctx, owner, ctx.clock.now(), LEASE_MS);
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`delivery timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Delivers what is due, one record at a time, until nothing is due or `limit` records were handled. */
export async function dispatchDue(ctx: DispatchCtx, opts: { owner?: string; limit?: number } = {}): Promise<{ delivered: number; failed: number }> {
  const owner = opts.owner ?? crypto.randomUUID();
  const limit = opts.limit ?? 100;
  let delivered = 0;
  let failed = 0;
  for (let handled = 0; handled < limit; handled += 1) {
    const record = await claimNext(ctx, owner);
    if (!record) break;
    const mine = { _id: record._id, state: 'sending' as const, leaseOwner: owner };
    try {
      await withTimeout(ctx.notifier.deliver({ key: record._id, recipient: record.recipient, text: record.text }), DELIVERY_TIMEOUT_MS);
    } catch (err) {
      failed += 1;
      const now = ctx.clock.now();
      const dead = record.attempts >= MAX_ATTEMPTS;
      await ctx.models.Notification.updateOne(mine, {
        $set: {
          state: dead ? 'dead' : 'pending',
          nextAttemptAt: new Date(now.getTime() + backoffMs(record.attempts)),
          leaseOwner: null,
          leaseUntil: null,
          lastError: String(err instanceof Error ? err.message : err).slice(0, 500),
        },
      });
      if (dead) ctx.logger?.warn({ notification: record._id, attempts: record.attempts }, 'notification given up after repeated failures');
      continue;
    }
    delivered += 1;
    const marked = await ctx.models.Notification.updateOne(mine, {
      $set: { state: 'delivered', deliveredAt: ctx.clock.now(), leaseOwner: null, leaseUntil: null, lastError: null },
    });
    if (marked.matchedCount !== 1) ctx.logger?.warn({ notification: record._id }, 'delivered after its lease expired; it may be sent again');
  }
  return { delivered, failed };
}

/**
 * Runs the catch-up sweep once at start (unless `catchUp` is false: the last run stopped cleanly),
 * then the dispatcher: at once when this process enqueued
 * something or a retry it scheduled is due, otherwise once every IDLE_CHECK_MS (messages of other
 * instances, expired leases), so an idle service does not read the outbox every few seconds.
 * Returns a stop function.
 */
export function startNotificationWorker(ctx: NotifyCtx & DispatchCtx & { logger: Logger }, opts: { catchUp?: boolean; intervalMs?: number } = {}): () => void {
  const owner = crypto.randomUUID();
  const intervalMs = opts.intervalMs ?? 3_000;
  let busy = false;
  let swept = opts.catchUp === false;
  let seen = -1;
  let nextCheck = 0;
  const tick = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    try {
      if (!swept) {
        const created = await sweepMissedNotifications(ctx, new Date(ctx.clock.now().getTime() - SWEEP_WINDOW_MS));
        swept = true;
        if (created) ctx.logger.info({ created }, 'notification sweep enqueued messages a crash had lost');
      }
      await retryFailedEnqueues(ctx);
      if (enqueued === seen && Date.now() < nextCheck) return;
      seen = enqueued;
      const limit = 100;
      const { delivered, failed } = await dispatchDue(ctx, { owner, limit });
      // More may be due (a full batch), or a retry comes due after the first backoff step.
      nextCheck = delivered + failed >= limit ? 0 : Date.now() + (failed ? BACKOFF_BASE_MS : IDLE_CHECK_MS);
    } catch (err) {
      ctx.logger.warn({ err: String(err) }, 'notification worker failed; will retry');
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
