import { Schema, type Connection } from 'mongoose';

/** The page sessions' collection (`web_sessions`); the sessions themselves are in session.ts. */
export interface KioskResident {
  /** The resident's name, sealed like every stored name (lib/personal), with its public mask. */
  nameSealed: string;
  nameMasked: string;
  /** The resident's ID number, sealed with the data key: needed once, when the draft is created. */
  idNumberEnc: string;
  idMasked: string;
  consent?: { method: 'signature' | 'fingerprint' | 'paper-form' | 'verbal-witnessed'; reference?: string };
  /** Applications filed in this visit: the only ones the kiosk pages show. */
  applications: string[];
}

export interface WebSessionDoc {
  _id: string;
  kind: 'resident' | 'kiosk' | 'staff';
  /** Resident or staff (officer, admin): account id. Kiosk: terminal id. */
  subject: string;
  /** Kiosk: the clerk at the terminal. */
  operatorName?: string;
  kioskResident?: KioskResident | null;
  createdAt: Date;
  lastSeenAt: Date;
  residentSeenAt?: Date;
}

const sessionSchema = new Schema(
  {
    _id: String,
    kind: { type: String, required: true },
    subject: { type: String, required: true },
    operatorName: String,
    kioskResident: { type: Schema.Types.Mixed, default: null },
    createdAt: { type: Date, required: true },
    lastSeenAt: { type: Date, required: true, index: true },
    residentSeenAt: Date,
  },
  { collection: 'web_sessions', versionKey: false, minimize: false },
);

export function webSessionModels(conn: Connection) {
  return { WebSession: conn.model<WebSessionDoc>('WebSession', sessionSchema) };
}
