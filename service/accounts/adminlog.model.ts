import { Schema, Types, type Connection } from 'mongoose';

/** The administration log (`admin_log`): who changed which staff account or terminal, when, and how. */

/** Who made a change: an admin signed in, or the command line on the server. */
export interface AdminActor {
  id: string;
  role: string;
  name: string;
}

export const COMMAND_LINE: AdminActor = { id: 'cli', role: 'system', name: '命令行 command line' };

export type AdminAction = 'create' | 'disable' | 'enable' | 'reset-credential' | 'set-jurisdiction';

export interface AdminLogDoc {
  _id: Types.ObjectId;
  at: Date;
  actor: AdminActor;
  action: AdminAction;
  target: { kind: 'staff' | 'terminal'; id: string; label: string };
  /** What changed, in words and codes; never a credential. */
  detail?: string;
}

const adminLogSchema = new Schema(
  {
    at: { type: Date, required: true },
    actor: { id: String, role: String, name: String },
    action: { type: String, required: true },
    target: { kind: String, id: String, label: String },
    detail: String,
  },
  { collection: 'admin_log', versionKey: false },
);
adminLogSchema.index({ at: -1 });

export function adminLogModels(conn: Connection) {
  return { AdminLog: conn.model<AdminLogDoc>('AdminLog', adminLogSchema) };
}

