import { Schema, Types, type Connection, type Model, type Query } from 'mongoose';
import { syncQueueEntry, type QueueEntryDoc } from '../review/queue.store';
import { statsModelsOf, syncApplicationFacts } from '../stats/stats.store';
import type { ApplicationDoc } from './application.types';

export type { Actor, ApplicationDoc, Claim, HistoryEntry, IssuedCertificate, StageState, StoredDocument } from './application.types';

const actor = { id: String, role: String, name: String };

const applicationSchema = new Schema(
  {
    number: { type: String, index: true },
    accessCode: { type: Schema.Types.Mixed },
    type: { type: String, required: true },
    status: { type: String, required: true },
    channel: { type: String, required: true },
    applicantId: { type: String, index: true },
    terminal: { type: Schema.Types.Mixed },
    resident: { name: String, nameSealed: String, nameMasked: String, idHash: String, idNumberEnc: String, idMasked: String },
    formSealed: { type: String, required: true },
    division: String,
    familyKey: String,
    openCaseKey: String,
    searchKeys: { type: [String], default: undefined },
    ruleSetVersion: String,
    ground: String,
    stages: { type: [Schema.Types.Mixed], default: [] },
    stageIndex: { type: Number, default: 0 },
    queueLevel: String,
    queueDivision: String,
    queueDeadline: String,
    deadlineProvisional: Boolean,
    claim: { type: Schema.Types.Mixed, default: null },
    submittedAt: Date,
    returnedAt: Date,
    pausedWorkingDays: { type: Number, default: 0 },
    missing: { type: [String], default: undefined },
    decision: { type: Schema.Types.Mixed },
    decidedAt: Date,
    certificateSerial: String,
    certificate: { type: Schema.Types.Mixed, default: null },
    issuing: { type: Schema.Types.Mixed, default: null },
    submitting: { type: Schema.Types.Mixed },
    documentCount: { type: Number, default: 0 },
    documents: {
      type: [
        {
          _id: false,
          id: String,
          kind: String,
          fileName: String,
          mime: String,
          size: Number,
          sha256: String,
          storageId: String,
          uploadedAt: Date,
          uploadedBy: actor,
        },
      ],
      default: [],
    },
    history: { type: [Schema.Types.Mixed], default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'applications', versionKey: false, minimize: false },
);
// The officer queue: applications waiting at a level, inside a division prefix, by committed deadline.
applicationSchema.index({ status: 1, queueLevel: 1, queueDivision: 1, queueDeadline: 1, _id: 1 });
applicationSchema.index({ 'terminal.terminalId': 1, createdAt: -1 });
applicationSchema.index({ 'resident.idHash': 1 });
// Every write that pins one application's _id brings its officer-queue entry in step
// (review/queue.store.ts): a hook, so that no transition, present or future, can forget it.
applicationSchema.post(['findOneAndUpdate', 'updateOne', 'replaceOne', 'deleteOne'], async function (this: Query<unknown, ApplicationDoc>, res: unknown) {
  const id = (this.getFilter() as { _id?: unknown })._id;
  if (!(id instanceof Types.ObjectId) || res === null) return;
  if (typeof res === 'object' && res && 'matchedCount' in res && (res as { matchedCount: number }).matchedCount === 0) return;
  const QueueEntry = this.model.db.models.QueueEntry as Model<QueueEntryDoc> | undefined;
  // And its facts in the statistics' period buckets (stats/stats.store.ts); the two are independent.
  const stats = statsModelsOf(this.model.db);
  await Promise.all([
    QueueEntry && syncQueueEntry({ Application: this.model as Model<ApplicationDoc>, QueueEntry }, id),
    stats && syncApplicationFacts({ ...stats, Application: this.model }, id),
  ]);
});
// An application saved whole with a submission (seeded or imported data) gets its facts too.
applicationSchema.post('save', async function (doc: ApplicationDoc) {
  const model = this.constructor as Model<ApplicationDoc>;
  const stats = statsModelsOf(model.db);
  if (stats && doc.submittedAt) await syncApplicationFacts({ ...stats, Application: model }, doc._id);
});
// The family record, the officer search and the register read key documents and period buckets
// (families.store.ts, ledger/ledger.store.ts, stats/stats.store.ts), not indexes on familyKey,
// searchKeys or decidedAt. The notification catch-up at start-up reads what changed in its window.
applicationSchema.index({ updatedAt: 1 });

/** Monotonic sequences (application numbers, certificate serials): one atomic $inc each. */
const counterSchema = new Schema({ _id: String, seq: Number }, { collection: 'counters', versionKey: false });

/**
 * Idempotency-Key records: the first outcome (status and resource id) is replayed for every repeat.
 * No response body is kept: it would hold personal data in clear.
 */
const idempotencySchema = new Schema(
  {
    _id: String,
    fingerprint: String,
    state: String,
    status: Number,
    resourceId: String,
    createdAt: Date,
  },
  { collection: 'idempotency_keys', versionKey: false },
);
idempotencySchema.index({ createdAt: 1 });

export function applicationModels(conn: Connection) {
  return {
    Application: conn.model<ApplicationDoc>('Application', applicationSchema),
    Counter: conn.model('Counter', counterSchema),
    IdempotencyKey: conn.model('IdempotencyKey', idempotencySchema),
  };
}

/** The next value of a named sequence, atomically (safe across instances). */
export async function nextSequence(models: Pick<ReturnType<typeof applicationModels>, 'Counter'>, name: string): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const doc = await models.Counter.findOneAndUpdate({ _id: name }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
      return (doc as { seq: number }).seq;
    } catch (err) {
      // Two first-ever upserts of one sequence race on its _id; the loser simply increments.
      if ((err as { code?: number }).code !== 11000 || attempt >= 3) throw err;
    }
  }
}
