import type { Types } from 'mongoose';
import type { Channel, OfficerLevel, Role } from '../lib/auth';
import type { Bilingual } from '../lib/i18n';
import type { ApplicationStatus } from './workflow';

/**
 * The shape of a stored application and its parts: a leaf module (types only), so that modules the
 * application model itself imports (the officer queue's entries, review/queue.store.ts) can name it
 * without importing the model back.
 */
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
