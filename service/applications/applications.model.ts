import { Schema, Types, type Connection, type Model, type Query } from 'mongoose';
import { syncQueueEntry, type QueueEntryDoc } from '../review/queue.store';
import { statsModelsOf, syncApplicationFacts } from '../stats/stats.store';
import type { Channel, OfficerLevel, Role } from '../lib/auth';
import type { Bilingual } from '../lib/i18n';
import type { ApplicationStatus } from './workflow';

export interface Actor {
  id: string;
  role: Role | 'system';
  name: string;
}

/** One line of the append-only history: who did what, when, from which state to which, and why. */
export interface HistoryEntry {
  at: Date;
  actor: Actor;
  channel: Channel | 'system';
  action: string;
  from: ApplicationStatus | null;
  to: ApplicationStatus;
  stage?: string;
  reason?: string;
  missing?: string[];
  ruleSetVersion?: string;
  certificateSerial?: string;
  /** For a deadline recomputation: the stage's deadlines before, as the official calendar counts them, and as kept. */
  deadlines?: Record<'before' | 'counted' | 'after', { statutory?: string; committed?: string }>;
}

export interface StoredDocument {
  id: string;
  kind: string;
  /** The client's file name, sanitised; shown to people, never used as a path. */
  fileName: string;
  mime: string;
  size: number;
  sha256: string;
  storageId: string;
  uploadedAt: Date;
  uploadedBy: Actor;
}

export interface StageState {
  id: string;
  level: OfficerLevel;
  name: Bilingual;
  /** Division code whose officers work this stage: the township (9 digits) or the county (6). */
  division: string;
  enteredAt?: Date;
  /** Deadlines as China calendar dates (YYYY-MM-DD, end of day), counted in the unit of the limit. */
  statutoryDeadline?: string;
  committedDeadline?: string;
  /** Counted over a year without official holiday data (Monday to Friday); recomputed when it arrives. */
  provisional?: boolean;
  decidedAt?: Date;
}

export interface IssuedCertificate {
  serial: string;
  verifyId: string;
  token: string;
  kid: string;
  issuedAt: Date;
  validUntil: Date | null;
  issuerDivision: string;
  coupleKey?: string;
}

export interface Claim {
  officerId: string;
  officerName: string;
  until: Date;
}

export interface ApplicationDoc {
  _id: Types.ObjectId;
  number?: string;
  /** The short code on the receipt that opens the public case query with the number. */
  accessCode?: { hash: string; sealed: string };
  type: string;
  status: ApplicationStatus;
  channel: 'online' | 'terminal';
  applicantId?: string;
  terminal?: { terminalId: string; township: string; operatorName: string; consent: { given: true; method: string; at: Date } };
  /** The resident the case is filed for: name sealed (with a mask), ID number by keyed hash, sealed and masked. */
  resident: { nameSealed?: string; nameMasked?: string; /** before names were sealed */ name?: string; idHash: string; idNumberEnc: string; idMasked: string };
  /**
   * The form, sealed (AES-256-GCM with the data key): it holds ID numbers, children's data and
   * disability appraisals, sensitive personal information under PIPL. Read it with `formOf`.
   */
  formSealed: string;
  /** Residence division code from the form; its first 9 digits choose the township queue. */
  division?: string;
  /** The couple's family record (`_id` of `families`), set at submission. */
  familyKey?: string;
  /** The open-case key this case holds while it is open (`open_cases`). */
  openCaseKey?: string;
  /** Keyed hashes officers search by (spouses' ID numbers, normalised names and their prefixes): no clear text. */
  searchKeys?: string[];
  ruleSetVersion?: string;
  ground?: string;
  stages: StageState[];
  stageIndex: number;
  /** Denormalised from the current stage for the queue's index: level, division, committed deadline. */
  queueLevel?: OfficerLevel;
  queueDivision?: string;
  queueDeadline?: string;
  /** The current stage's deadlines are provisional: the recomputation sweep looks for these. */
  deadlineProvisional?: boolean;
  claim?: Claim | null;
  submittedAt?: Date;
  returnedAt?: Date;
  pausedWorkingDays: number;
  missing?: string[];
  decision?: { action: 'approve' | 'return' | 'reject'; reason?: string; by: Actor; at: Date };
  decidedAt?: Date;
  certificateSerial?: string;
  /** The issued certificate, written in the same update as the approval. */
  certificate?: IssuedCertificate | null;
  /** Set by the submission that won this draft while it takes its number; removed with the submission. */
  submitting?: { at: Date } | null;
  /** Set by the winning final approval before the certificate is signed; cleared when it is stored. */
  issuing?: { at: Date; by: Actor; reason?: string } | null;
  documents: StoredDocument[];
  documentCount: number;
  history: HistoryEntry[];
  createdAt: Date;
  updatedAt: Date;
}

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
applicationSchema.index({ familyKey: 1 });
// The officer search reads key documents (ledger/ledger.store.ts), not indexes on searchKeys or the access-code hash.
// Decided cases by decision date (the notification catch-up at start-up; the register reads the stats buckets).
applicationSchema.index({ decidedAt: 1, _id: 1 });

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
