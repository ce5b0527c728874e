import { Schema, type Connection } from 'mongoose';

/**
 * Who among the staff looked at whose personal data, and when. The application history records
 * changes; this records reads, so that an auditor can answer "who opened this file" (PIPL: access to
 * sensitive personal information is restricted and accountable). Residents reading their own
 * applications are not logged.
 */
const accessSchema = new Schema(
  {
    at: { type: Date, required: true },
    applicationId: { type: String, required: true },
    actor: { id: String, role: String, name: String },
    what: { type: String, required: true },
    requestId: String,
  },
  { collection: 'access_log', versionKey: false },
);
accessSchema.index({ applicationId: 1, at: 1 });
accessSchema.index({ 'actor.id': 1, at: 1 });

export function auditModels(conn: Connection) {
  return { AccessLog: conn.model('AccessLog', accessSchema) };
}
