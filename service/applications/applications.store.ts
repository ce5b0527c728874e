import { Types } from 'mongoose';
import sift from 'sift';
import type { AppContext } from '../context';
import { trustedFilter } from '../lib/database';
import { AppError } from '../lib/errors';
import { addKey, keyValues, pruneKey } from '../lib/keyindex';
import type { ApplicationDoc, HistoryEntry, IssuedCertificate, StageState, StoredDocument } from './applications.model';
import { ACTIONS, allowedFrom, type Action, type ApplicationStatus } from './workflow';

/**
 * The one module that writes the `applications` collection. Every change to an application, from
 * whichever capability (review, certificates, documents, complaints, families), is one of the named
 * operations below, and each builds its compare-and-set filter from the workflow table
 * (`workflow.ts`): the states the action is allowed from, and the revision (`updatedAt`) it read.
 * Other capabilities call these and never write the model (`test/ownership.test.ts` pins it).
 * A write pinning `_id` also brings the officer-queue entry in step (the model's post hook).
 */
type Store = Pick<AppContext, 'models' | 'clock'>;

/**
 * `updatedAt` is the revision every compare-and-set checks, so each change must move it, even when
 * two changes fall in the same millisecond (or a test's clock stands still).
 */
export function nextRevision(ctx: Pick<AppContext, 'clock'>, app: Pick<ApplicationDoc, 'updatedAt'>): Date {
  return new Date(Math.max(ctx.clock.now().getTime(), new Date(app.updatedAt).getTime() + 1));
}

/** The compare-and-set filter of an action: this application, in a state the action is allowed from, at the revision read. */
function casFilter(app: Pick<ApplicationDoc, '_id' | 'updatedAt'>, action: Action, extra: Record<string, unknown> = {}) {
  return trustedFilter({ _id: app._id, status: { $in: allowedFrom(action) }, updatedAt: app.updatedAt, ...extra });
}

/** The state an action leads to, from the table. */
const target = (action: 'claim' | 'approveFinal'): ApplicationStatus => ACTIONS[action].to;

/** A new draft (its keys are written before it, lib/keyindex.ts). */
export async function insertDraft(ctx: Pick<AppContext, 'models'>, doc: Omit<ApplicationDoc, 'documentCount'> & Record<string, unknown>): Promise<ApplicationDoc> {
  const created = await ctx.models.Application.create(doc);
  return created.toObject() as ApplicationDoc;
}

export interface Change {
  set: Partial<ApplicationDoc> & Record<string, unknown>;
  /** The history line written with the change (none: a bare reservation). */
  entry?: HistoryEntry;
  /** Fields removed by the change. */
  unset?: string[];
}

/**
 * A transition of the workflow table, as one conditional update on the application's id, the
 * action's source states and the revision read, plus whatever `extra` pins (a claim holder, a free
 * reservation). The history line goes in the same write. Null: nothing matched (the caller answers 409).
 */
export async function applyTransition(ctx: Store, app: ApplicationDoc, action: Action, change: Change, extra: Record<string, unknown> = {}): Promise<ApplicationDoc | null> {
  const update: Record<string, unknown> = { $set: { ...change.set, updatedAt: nextRevision(ctx, app) } };
  if (change.entry) update.$push = { history: change.entry };
  if (change.unset?.length) update.$unset = Object.fromEntries(change.unset.map((f) => [f, '']));
  return ctx.models.Application.findOneAndUpdate(casFilter(app, action, extra), update, { returnDocument: 'after' }).lean<ApplicationDoc>();
}

/** The state an application is in now, for a refusal's message (null: it is gone). */
export async function currentStatus(ctx: Pick<AppContext, 'models'>, id: Types.ObjectId): Promise<ApplicationStatus | null> {
  const current = await ctx.models.Application.findById(id, { status: 1 }).lean<Pick<ApplicationDoc, 'status'>>();
  return current?.status ?? null;
}

/** Key documents `claims:<officer id>`: the cases an officer has claimed (membership ends with the claim). */
export const CLAIMS_KEY = 'claims';

/**
 * The cases an officer holds now, among those listed under their claims key, each read by `_id`
 * (without history) and checked against `filter`. Ids whose case no longer carries this officer's
 * claim in review (released, taken over, decided) leave the key.
 */
export async function claimedBy(ctx: Pick<AppContext, 'models'>, officerId: string, filter: Record<string, unknown>): Promise<ApplicationDoc[]> {
  const ids = await keyValues(ctx.models, CLAIMS_KEY, officerId);
  const apps = await Promise.all(ids.map((id) => ctx.models.Application.findById(id, { history: 0, formSealed: 0 }).lean<ApplicationDoc>()));
  const ended = apps.filter((a): a is ApplicationDoc => !!a && !(a.status === 'in_review' && a.claim?.officerId === officerId));
  await pruneKey(ctx.models, CLAIMS_KEY, officerId, ended.map((a) => a._id));
  const matches = sift(filter);
  return apps.filter((a): a is ApplicationDoc => !!a && matches(a));
}

/**
 * Takes a claim (a lease) for an officer, or renews the officer's own: allowed from the claim's
 * source states, at the stage read, while no approval is being issued, and only when the claim is
 * free, expired or already this officer's. A renewal writes no history line (`entry` undefined).
 */
export async function takeClaim(
  ctx: Store,
  app: ApplicationDoc,
  claim: { officerId: string; officerName: string; until: Date },
  entry: HistoryEntry | undefined,
): Promise<ApplicationDoc | null> {
  const now = ctx.clock.now();
  // The officer's "my claimed cases" reads this key, never a scan; written first, so it is never missing.
  await addKey(ctx.models, CLAIMS_KEY, claim.officerId, app._id);
  const free = { $or: [{ claim: null }, { 'claim.until': { $lte: now } }, { 'claim.officerId': claim.officerId }] };
  return ctx.models.Application.findOneAndUpdate(
    casFilter(app, 'claim', { stageIndex: app.stageIndex, issuing: null, ...free }),
    {
      $set: { status: target('claim'), claim, updatedAt: nextRevision(ctx, app) },
      ...(entry ? { $push: { history: entry } } : {}),
    },
    { returnDocument: 'after' },
  ).lean<ApplicationDoc>();
}

/**
 * Reserves a final approval (`issuing`) for the claim holder (`holds`): allowed from the states of
 * `approveFinal`, at the revision read. The reservation moves the revision, so a withdrawal read
 * before it can no longer win.
 */
export async function reserveIssuance(ctx: Store, app: ApplicationDoc, issuing: NonNullable<ApplicationDoc['issuing']>, holds: Record<string, unknown>): Promise<ApplicationDoc | null> {
  return ctx.models.Application.findOneAndUpdate(
    casFilter(app, 'approveFinal', holds),
    { $set: { issuing, updatedAt: nextRevision(ctx, app) } },
    { returnDocument: 'after' },
  ).lean<ApplicationDoc>();
}

/**
 * The approval with its certificate, in one conditional update: allowed from the states of
 * `approveFinal`, and only for the reservation it completes (`issuing.at`), so exactly one
 * certificate follows however many requests (or recoveries) race.
 */
export async function storeApproval(
  ctx: Store,
  app: ApplicationDoc,
  approval: { stages: StageState[]; decision: NonNullable<ApplicationDoc['decision']>; decidedAt: Date; certificate: IssuedCertificate },
  entry: HistoryEntry,
): Promise<ApplicationDoc | null> {
  if (!app.issuing) throw new Error('storeApproval: the decision was not reserved');
  return ctx.models.Application.findOneAndUpdate(
    trustedFilter({ _id: app._id, status: { $in: allowedFrom('approveFinal') }, 'issuing.at': app.issuing.at }),
    {
      $set: {
        ...approval,
        status: target('approveFinal'),
        certificateSerial: approval.certificate.serial,
        claim: null,
        issuing: null,
        updatedAt: ctx.clock.now(),
      },
      $push: { history: entry },
    },
    { returnDocument: 'after' },
  ).lean<ApplicationDoc>();
}

/**
 * Adds a document while uploads are allowed and fewer than `max` are held (counted, not read, so
 * two concurrent uploads cannot both pass the limit). False: nothing matched.
 */
export async function pushDocument(ctx: Store, app: ApplicationDoc, doc: StoredDocument, entry: HistoryEntry, max: number): Promise<boolean> {
  const updated = await ctx.models.Application.updateOne(
    trustedFilter({ _id: app._id, status: { $in: allowedFrom('upload') }, documentCount: { $lt: max } }),
    { $push: { documents: doc, history: entry }, $inc: { documentCount: 1 }, $set: { updatedAt: ctx.clock.now() } },
  );
  return updated.matchedCount === 1;
}

/** Documents held now and their count, to tell a full application from a changed one. */
export async function documentCountOf(ctx: Pick<AppContext, 'models'>, id: Types.ObjectId): Promise<number | null> {
  const current = await ctx.models.Application.findById(id, { documentCount: 1 }).lean<{ documentCount?: number }>();
  return current ? (current.documentCount ?? 0) : null;
}

/**
 * Replaces the document list with `remaining` (one removed), guarded by the revision and the count
 * read and by the removed document still being there: FerretDB ignores a `$pull` by condition, and
 * the guard keeps a concurrent upload. False: nothing matched.
 */
export async function replaceDocuments(ctx: Store, app: ApplicationDoc, removedId: string, remaining: StoredDocument[], entry: HistoryEntry): Promise<boolean> {
  const updated = await ctx.models.Application.updateOne(casFilter(app, 'removeDocument', { documentCount: app.documentCount, 'documents.id': removedId }), {
    $push: { history: entry },
    $set: { documents: remaining, documentCount: remaining.length, updatedAt: ctx.clock.now() },
  });
  return updated.matchedCount === 1;
}

/**
 * Appends a line to the history without touching the state or the revision (a complaint is not a
 * transition, and must not make an officer's concurrent decision fail). The filter pins the status
 * the line names, so from/to are never stale; a change in between retries.
 */
export async function appendHistory(ctx: Pick<AppContext, 'models'>, applicationId: string, build: (status: ApplicationStatus) => HistoryEntry): Promise<void> {
  const _id = new Types.ObjectId(applicationId);
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const status = await currentStatus(ctx, _id);
    if (!status) return;
    const done = await ctx.models.Application.updateOne({ _id, status }, { $push: { history: build(status) } });
    if (done.matchedCount === 1) return;
  }
  throw new AppError('conflict', { zh: '申请状态正在变化，请稍后重试', en: 'The application is changing; try again shortly' });
}

/**
 * Records what happened to an approved application's certificate (revoked, superseded) as a history
 * line, moving the revision so the notification catch-up sees it. Allowed from the states of
 * `certificateChange`; null when the application is not (or no longer) there in such a state.
 */
export async function recordCertificateChange(ctx: Store, applicationId: string | Types.ObjectId, entry: HistoryEntry): Promise<ApplicationDoc | null> {
  return ctx.models.Application.findOneAndUpdate(
    trustedFilter({ _id: new Types.ObjectId(applicationId), status: { $in: allowedFrom('certificateChange') } }),
    { $push: { history: entry }, $set: { updatedAt: ctx.clock.now() } },
    { returnDocument: 'after' },
  ).lean<ApplicationDoc>();
}

/** Housekeeping: drops the provisional-deadline mark of a case that no longer waits, at the revision read. */
export async function clearProvisionalMark(ctx: Pick<AppContext, 'models'>, app: Pick<ApplicationDoc, '_id' | 'updatedAt'>): Promise<void> {
  await ctx.models.Application.updateOne(trustedFilter({ _id: app._id, updatedAt: app.updatedAt }), { $set: { deadlineProvisional: false } });
}

/*
 * Reads that filter on more than `_id`: start-up repairs only (each one scan of the collection).
 */

/** The submitted applications changed since `since`, one at a time, with `projection`: the notification catch-up. */
export function submittedChangedSince(ctx: Pick<AppContext, 'models'>, since: Date, projection: Record<string, 1>): AsyncIterable<ApplicationDoc> {
  const changed = trustedFilter({ updatedAt: { $gte: since }, submittedAt: { $exists: true } });
  return ctx.models.Application.find(changed, projection).lean<ApplicationDoc[]>().cursor() as AsyncIterable<ApplicationDoc>;
}

/** Approved applications, and those whose final approval was reserved at or before `reservedBy`: the issuance recovery's full pass. */
export function approvedOrReserved(ctx: Pick<AppContext, 'models'>, reservedBy: Date): Promise<Pick<ApplicationDoc, '_id' | 'status'>[]> {
  return ctx.models.Application.find(trustedFilter({ $or: [{ status: 'approved' }, { status: 'in_review', 'issuing.at': { $lte: reservedBy } }] }), { _id: 1, status: 1 }).lean<
    Pick<ApplicationDoc, '_id' | 'status'>[]
  >();
}
