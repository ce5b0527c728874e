import { Schema, type Connection, type InferSchemaType } from 'mongoose';

/**
 * People who sign in: applicants (by ID number), officers and admins (by user name). `loginKey` is
 * the one unique handle for both kinds: `id:<keyed hash of the ID number>` or `user:<name>`.
 */
const accountSchema = new Schema(
  {
    loginKey: { type: String, required: true, unique: true },
    role: { type: String, required: true, enum: ['applicant', 'officer', 'admin'] },
    /** Staff: their name in clear (they act in office). Applicants: sealed, with a mask. */
    name: { type: String },
    nameSealed: { type: String },
    nameMasked: { type: String },
    username: { type: String },
    /** Applicants: keyed hash, AES-GCM ciphertext and staff mask of the ID number. */
    idHash: { type: String, index: true },
    idNumberEnc: { type: String },
    idMasked: { type: String },
    /** Applicants' mobile number, sealed (AES-256-GCM); read only to send them messages. */
    phoneEnc: { type: String },
    passwordHash: { type: String, required: true },
    level: { type: String, enum: ['township', 'county'] },
    jurisdiction: { type: [String], default: undefined },
    disabled: { type: Boolean, required: true, default: false },
    /** "Sign out everywhere": tokens issued before this instant are refused. */
    tokensValidAfter: { type: Date },
    createdAt: { type: Date, required: true },
  },
  { collection: 'accounts', versionKey: false },
);

/** Township kiosks: a device credential bound to the township where the kiosk stands. */
const terminalSchema = new Schema(
  {
    terminalId: { type: String, required: true, unique: true },
    name: { type: String, required: true },
    township: { type: String, required: true },
    secretHash: { type: String, required: true },
    disabled: { type: Boolean, required: true, default: false },
    tokensValidAfter: { type: Date },
    createdAt: { type: Date, required: true },
  },
  { collection: 'terminals', versionKey: false },
);

/**
 * Sessions ended by signing out, until their tokens would have expired anyway: `_id` is the token's
 * session id, so the check on every request is one lookup by _id in a collection that stays small.
 */
const endedSessionSchema = new Schema({ _id: String, until: { type: Date, required: true } }, { collection: 'ended_sessions', versionKey: false });

/**
 * One-time codes sent by SMS, one record per purpose and target (a phone number for registration,
 * an account for a password reset): `_id` is a keyed hash of both, so no number is stored. The
 * code is kept only as a keyed hash; `codeHash: null` once used. `sends` holds the send times of
 * the last hour: the per-number limit, shared by every instance.
 */
const phoneCodeSchema = new Schema(
  {
    _id: String,
    codeHash: { type: String, default: null },
    expiresAt: { type: Date, required: true },
    attempts: { type: Number, required: true, default: 0 },
    lastSentAt: { type: Date, required: true },
    sends: { type: [Date], default: [] },
  },
  { collection: 'phone_codes', versionKey: false },
);

export type AccountDoc = InferSchemaType<typeof accountSchema> & { _id: import('mongoose').Types.ObjectId };
export type TerminalDoc = InferSchemaType<typeof terminalSchema> & { _id: import('mongoose').Types.ObjectId };

export function accountModels(conn: Connection) {
  return {
    Account: conn.model('Account', accountSchema),
    Terminal: conn.model('Terminal', terminalSchema),
    EndedSession: conn.model('EndedSession', endedSessionSchema),
    PhoneCode: conn.model('PhoneCode', phoneCodeSchema),
  };
}
