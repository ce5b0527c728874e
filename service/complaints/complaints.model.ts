import { Schema, Types, type Connection } from 'mongoose';
import { factsFollow, syncComplaintFacts } from '../stats/stats.store';
import type { Actor } from '../applications/applications.model';
import type { Channel } from '../lib/auth';
import type { Recipient } from '../notifications/notifications.model';

/** A complaint about one application, and the bureau's answer to it. */
export interface ComplaintDoc {
  _id: Types.ObjectId;
  applicationId: string;
  applicationNumber?: string;
  /** Copied from the application when filed: the statistics and the officers' list filter on them. */
  type: string;
  division: string;
  /** Who hears about the answer: the application's applicant, or the kiosk that filed it. */
  recipient: Recipient;
  filedBy: Actor;
  channel: Channel;
  text: string;
  status: 'open' | 'answered';
  createdAt: Date;
  /** The last China calendar day on which an answer counts as on time. */
  responseDeadline: string;
  answer?: { text: string; by: Actor; at: Date } | null;
  answeredAt?: Date | null;
  answeredOnTime?: boolean | null;
}

const actor = { id: String, role: String, name: String };

const complaintSchema = new Schema(
  {
    applicationId: { type: String, required: true },
    applicationNumber: String,
    type: { type: String, required: true },
    division: { type: String, required: true },
    recipient: { applicantId: String, terminalId: String, township: String },
    filedBy: actor,
    channel: { type: String, required: true },
    text: { type: String, required: true },
    status: { type: String, required: true },
    createdAt: { type: Date, required: true },
    responseDeadline: { type: String, required: true },
    answer: { type: Schema.Types.Mixed, default: null },
    answeredAt: { type: Date, default: null },
    answeredOnTime: { type: Boolean, default: null },
  },
  { collection: 'complaints', versionKey: false },
);
// The notification catch-up at start-up reads the answers of its window. (A case's complaints and the
// officers' lists are read through key documents and worklists, the statistics through their buckets.)
complaintSchema.index({ answeredAt: 1 });

// Its facts in the statistics' period buckets (stats/stats.store.ts).
factsFollow(complaintSchema, (stats, Complaint, id) => syncComplaintFacts({ ...stats, Complaint }, id));

export function complaintModels(conn: Connection) {
  return { Complaint: conn.model<ComplaintDoc>('Complaint', complaintSchema) };
}
