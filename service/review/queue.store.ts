import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { ApplicationDoc } from '../applications/application.types';
import { trustedFilter } from '../lib/database';

/**
 * Open cases apart from the county's history: one slim entry (about 210 bytes; 270 while claimed) per open application
 * (waiting for an officer, or returned to the applicant), holding exactly the fields the officer
 * queue and the deadline recomputation filter and sort on, under the application's own `_id`.
 *
 * Why: the embedded database (FerretDB over SQLite) answers a filtered, sorted query by decoding
 * every document of the collection; over all applications (2 KB each, growing with the county's
 * history) a queue page costs seconds, over the open ones' entries milliseconds. On MongoDB the
 * declared index below serves it the same way.
 *
 * How it stays right: every write to an application that pins its `_id` re-reads the application
 * and writes its entry (a post hook on the application model, so no transition can forget it),
 * one application at a time in this process. A crash between the two leaves an entry stale or
 * missing: the queue page checks every entry against its application and repairs what it finds,
 * and the start-up repair compares all open applications with all entries once.
 */
/** What an officer's queue shows. */
export const QUEUE_STATUSES = ['pending', 'in_review'] as const;
/** What has an entry: the queue's cases and those returned for supplement (their deadlines still move). */
export const OPEN_STATUSES = [...QUEUE_STATUSES, 'returned'] as const;

export interface QueueEntryDoc {
  _id: Types.ObjectId;
  status: string;
  type: string;
  queueLevel?: string;
  queueDivision?: string;
  queueDeadline?: string;
  deadlineProvisional?: boolean;
  /** The residence division (village code): the queue's township filter at the county stage. */
  division?: string;
  claim: { officerId: string; until: Date } | null;
}

const queueEntrySchema = new Schema(
  {
    _id: Schema.Types.ObjectId,
    status: { type: String, required: true },
    type: { type: String, required: true },
    queueLevel: String,
    queueDivision: String,
    queueDeadline: String,
    deadlineProvisional: Boolean,
    division: String,
    claim: { type: Schema.Types.Mixed, default: null },
  },
  { collection: 'queue_entries', versionKey: false },
);
// Same shape as the queue query (review.service.ts): equalities and $in first, then the sort.
queueEntrySchema.index({ status: 1, queueLevel: 1, queueDivision: 1, queueDeadline: 1, _id: 1 });

export function queueEntryModels(conn: Connection) {
  return { QueueEntry: conn.model<QueueEntryDoc>('QueueEntry', queueEntrySchema) };
}

/** The fields of an application an entry is made of. */
export const ENTRY_FIELDS = { _id: 1, status: 1, type: 1, queueLevel: 1, queueDivision: 1, queueDeadline: 1, deadlineProvisional: 1, division: 1, claim: 1 } as const;

type EntrySource = Pick<ApplicationDoc, '_id' | 'status' | 'type' | 'queueLevel' | 'queueDivision' | 'queueDeadline' | 'deadlineProvisional' | 'division' | 'claim'>;

/** The entry an application should have, or null when it is not open (a draft, or decided). */
export function entryOf(app: EntrySource): QueueEntryDoc | null {
  if (!(OPEN_STATUSES as readonly string[]).includes(app.status)) return null;
  return {
    _id: app._id,
    status: app.status,
    type: app.type,
    queueLevel: app.queueLevel,
    queueDivision: app.queueDivision,
    queueDeadline: app.queueDeadline,
    deadlineProvisional: app.deadlineProvisional === true,
    ...(app.division ? { division: app.division } : {}),
    claim: app.claim ? { officerId: app.claim.officerId, until: new Date(app.claim.until) } : null,
  };
}

const sameEntry = (a: QueueEntryDoc | null, b: QueueEntryDoc | null): boolean => JSON.stringify(a) === JSON.stringify(b);

interface Models {
  Application: Model<ApplicationDoc>;
  QueueEntry: Model<QueueEntryDoc>;
}

async function write(models: Models, id: Types.ObjectId, entry: QueueEntryDoc | null): Promise<void> {
  if (entry) await models.QueueEntry.replaceOne({ _id: id }, entry, { upsert: true });
  else await models.QueueEntry.deleteOne({ _id: id });
}

const inFlight = new Map<string, Promise<void>>();
/** Syncs that failed (database away for a moment); the minutely housekeeping retries them. */
const failed = new Map<string, { models: Models; id: Types.ObjectId }>();

/**
 * Makes the application's entry match the application as stored now. Calls for one application run
 * one after another, each reading the application afresh, so the last write reflects the last state.
 */
export function syncQueueEntry(models: Models, id: Types.ObjectId): Promise<void> {
  const key = id.toString();
  const run = (inFlight.get(key) ?? Promise.resolve()).then(async () => {
    try {
      const app = await models.Application.findById(id, ENTRY_FIELDS).lean<EntrySource>();
      await write(models, id, app ? entryOf(app) : null);
      failed.delete(key);
    } catch {
      failed.set(key, { models, id });
    }
  });
  inFlight.set(key, run);
  void run.then(() => {
    if (inFlight.get(key) === run) inFlight.delete(key);
  });
  return run;
}

export async function retryFailedQueueSyncs(): Promise<void> {
  for (const { models, id } of [...failed.values()]) await syncQueueEntry(models, id);
}

/**
 * Start-up repair: one scan of the open applications and one of the entries, compared in memory;
 * writes only the differences. Linear in the stored data, once.
 */
export async function repairQueueEntries(models: Models): Promise<{ written: number; removed: number }> {
  const entries = new Map((await models.QueueEntry.find({}).lean<QueueEntryDoc[]>()).map((e) => [e._id.toString(), e]));
  const open = await models.Application.find(trustedFilter({ status: { $in: [...OPEN_STATUSES] } }), ENTRY_FIELDS).lean<EntrySource[]>();
  let written = 0;
  let removed = 0;
  for (const app of open) {
    const key = app._id.toString();
    const want = entryOf(app);
    const have = entries.get(key);
    entries.delete(key);
    if (!have || !sameEntry(entryOf(have as EntrySource), want)) {
      await syncQueueEntry(models, app._id);
      written += 1;
    }
  }
  for (const stale of entries.values()) {
    await syncQueueEntry(models, stale._id);
    removed += 1;
  }
  return { written, removed };
}

/** The entries of one queue page: those matching `filter` (the caller's scope and choices), in `sort` order. */
export function queueEntryPage(models: Pick<Models, 'QueueEntry'>, filter: Record<string, unknown>, sort: Record<string, 1 | -1>, limit: number): Promise<QueueEntryDoc[]> {
  return models.QueueEntry.find(trustedFilter(filter), { _id: 1, queueDeadline: 1 }).sort(sort).limit(limit).lean<QueueEntryDoc[]>();
}

/** How many entries match `filter`, per certificate type. */
export async function queueTotals(models: Pick<Models, 'QueueEntry'>, filter: Record<string, unknown>): Promise<Record<string, number>> {
  const totals = await models.QueueEntry.aggregate<{ _id: string; count: number }>([{ $match: trustedFilter(filter) }, { $group: { _id: '$type', count: { $sum: 1 } } }]);
  return Object.fromEntries(totals.map((t) => [t._id, t.count]));
}

/** The ids of open cases whose current deadline is marked provisional (the deadline recomputation reads each by _id). */
export async function provisionalEntryIds(models: Pick<Models, 'QueueEntry'>): Promise<Types.ObjectId[]> {
  return (await models.QueueEntry.find({ deadlineProvisional: true }, { _id: 1 }).lean<Pick<QueueEntryDoc, '_id'>[]>()).map((e) => e._id);
}

/** How many open cases in `statuses` wait under a provisional deadline. */
export function countProvisional(models: Pick<Models, 'QueueEntry'>, statuses: readonly string[]): Promise<number> {
  return models.QueueEntry.countDocuments(trustedFilter({ deadlineProvisional: true, status: { $in: [...statuses] } }));
}
