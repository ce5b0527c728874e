import { Schema, type Connection } from 'mongoose';

/**
 * A couple's record: `_id` is the keyed hash of their two ID hashes in sorted order (the same
 * `coupleKey` certificates carry), so either spouse's filing finds it by `_id` and no number is
 * stored. It links the couple's applications and certificates over time.
 */
export interface FamilyDoc {
  _id: string;
  /** The two spouses' ID hashes (keyed), sorted. */
  spouses: string[];
  applications: { id: string; number?: string; type: string; submittedAt: Date }[];
  certificates: { serial: string; type: string; issuedAt: Date }[];
  createdAt: Date;
  updatedAt: Date;
}

const familySchema = new Schema(
  {
    _id: String,
    spouses: { type: [String], default: [] },
    applications: { type: [{ _id: false, id: String, number: String, type: { type: String }, submittedAt: Date }], default: [] },
    certificates: { type: [{ _id: false, serial: String, type: { type: String }, issuedAt: Date }], default: [] },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'families', versionKey: false },
);

/**
 * "This couple (or this woman, for the migrant certificate) has an open case of this type": `_id` is
 * `<type>:<party key>`, so the unique `_id` index lets exactly one submission hold it, on MongoDB
 * and FerretDB alike (no partial index needed). Removed when the case ends; a holder that has ended
 * without removing it (a crash) is taken over by the next submission.
 */
export interface OpenCaseDoc {
  _id: string;
  applicationId: string;
  at: Date;
}

const openCaseSchema = new Schema({ _id: String, applicationId: { type: String, required: true }, at: { type: Date, required: true } }, { collection: 'open_cases', versionKey: false });

export function familyModels(conn: Connection) {
  return {
    Family: conn.model<FamilyDoc>('Family', familySchema),
    OpenCase: conn.model<OpenCaseDoc>('OpenCase', openCaseSchema),
  };
}
