import { Schema, type Connection } from 'mongoose';

/**
 * Who among the staff looked at whose personal data, and when. The application history records
 * changes; this records reads, so that an auditor can answer "who opened this file" (PIPL: access to
 * sensitive personal information is restricted and accountable). Residents reading their own
 * applications are not logged. A search or a page of the register that shows an application is a
 * read of it too: an entry naming what was searched by (`search:idNumber`, never the value searched for).
 *
 * One bucket per application, whose `_id` is the application id: recording a read and reading the
 * log are each one operation by `_id`, which every backend answers from an index (the embedded
 * FerretDB decodes the whole collection for any other filter, and this log grows with every read).
 */
export interface AccessEntry {
  at: Date;
  actor: { id: string; role: string; name: string };
  what: string;
  requestId?: string;
}

export interface AccessBucketDoc {
  /** The application's id. */
  _id: string;
  entries: AccessEntry[];
}

const entrySchema = new Schema(
  {
    at: { type: Date, required: true },
    actor: { id: String, role: String, name: String },
    what: { type: String, required: true },
    requestId: String,
  },
  { _id: false },
);

const bucketSchema = new Schema({ _id: String, entries: { type: [entrySchema], default: [] } }, { collection: 'access_log_buckets', versionKey: false });

export function auditModels(conn: Connection) {
  return { AccessLog: conn.model<AccessBucketDoc>('AccessLog', bucketSchema) };
}
