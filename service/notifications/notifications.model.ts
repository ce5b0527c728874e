import { Schema, type Connection } from 'mongoose';

export type NotificationEvent = 'submitted' | 'resubmitted' | 'returned' | 'approved' | 'rejected' | 'complaint-answered' | 'deadline-changed' | 'certificate-revoked' | 'certificate-superseded';

/** Who receives it: the applicant's account, or for a kiosk filing the terminal that filed it. */
export interface Recipient {
  applicantId?: string;
  /** Direct messages only (one-time codes, before an account exists): never stored in the outbox. */
  phone?: string;
  terminalId?: string;
  township?: string;
}

/**
 * One message in the outbox. `_id` is derived from the event itself (application id + history
 * action + instant, or complaint id), so the same event enqueued twice — by the request and by the
 * catch-up sweep, or by two instances — is one record.
 */
export interface NotificationDoc {
  _id: string;
  event: NotificationEvent;
  applicationId: string;
  applicationNumber?: string;
  recipient: Recipient;
  /** The text as sent (Chinese), fixed at enqueue time so that every attempt sends the same words. */
  text: string;
  state: 'pending' | 'sending' | 'delivered' | 'dead';
  attempts: number;
  nextAttemptAt: Date;
  /** While `sending`: which dispatcher holds the record and until when. */
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
  lastError?: string | null;
  createdAt: Date;
  deliveredAt?: Date | null;
}

const notificationSchema = new Schema(
  {
    _id: String,
    event: { type: String, required: true },
    applicationId: { type: String, required: true, index: true },
    applicationNumber: String,
    recipient: { applicantId: String, terminalId: String, township: String },
    text: { type: String, required: true },
    state: { type: String, required: true },
    attempts: { type: Number, default: 0 },
    nextAttemptAt: { type: Date, required: true },
    leaseOwner: { type: String, default: null },
    leaseUntil: { type: Date, default: null },
    lastError: { type: String, default: null },
    createdAt: { type: Date, required: true },
    deliveredAt: { type: Date, default: null },
  },
  { collection: 'notification_outbox', versionKey: false },
);
// The dispatcher's claim: due pending records, and `sending` records whose lease ran out.
notificationSchema.index({ state: 1, nextAttemptAt: 1 });
notificationSchema.index({ state: 1, leaseUntil: 1 });

export function notificationModels(conn: Connection) {
  return { Notification: conn.model<NotificationDoc>('Notification', notificationSchema) };
}
