import { Schema, type Connection, type Types } from 'mongoose';

export type CertificateStatus = 'valid' | 'revoked';

/**
 * A certificate as issued. The signed token and its claims are written first into the approved
 * application itself (one update: approval and certificate cannot come apart); this collection is
 * the register built from it, with a unique serial and a unique application id, and the place where
 * revocation is recorded. A start-up sweep fills in any register entry a crash left out.
 */
export interface CertificateDoc {
  _id: Types.ObjectId;
  serial: string;
  applicationId: string;
  applicationNumber: string;
  type: string;
  /** 128 random bits (hex): the public verification handle besides the token. */
  verifyId: string;
  token: string;
  kid: string;
  /** The holder's name sealed (AES-256-GCM), with the mask public verification shows. */
  holderNameSealed?: string;
  holderNameMasked?: string;
  /** Before names were sealed. */
  holderName?: string;
  holderIdHash: string;
  holderIdMasked: string;
  /** Keyed hash of the couple's two ID numbers: links a re-birth permit to the honour certificate it cancels. */
  coupleKey?: string;
  issuerDivision: string;
  issuedAt: Date;
  validUntil: Date | null;
  status: CertificateStatus;
  revokedAt?: Date;
  revokeReason?: string;
  /** One of REVOKE_REASONS (certificates.service); revokeReason is its text as the holder reads it. */
  revokeReasonCode?: string;
  revokedBy?: { id: string; role: string; name: string };
}

const certificateSchema = new Schema(
  {
    serial: { type: String, required: true, unique: true },
    applicationId: { type: String, required: true, unique: true },
    applicationNumber: { type: String, required: true },
    type: { type: String, required: true },
    verifyId: { type: String, required: true, unique: true },
    token: { type: String, required: true },
    kid: { type: String, required: true },
    holderName: { type: String },
    holderNameSealed: { type: String },
    holderNameMasked: { type: String },
    holderIdHash: { type: String, required: true, index: true },
    holderIdMasked: { type: String, required: true },
    coupleKey: { type: String, index: true },
    issuerDivision: { type: String, required: true },
    issuedAt: { type: Date, required: true },
    validUntil: { type: Date, default: null },
    status: { type: String, required: true },
    revokedAt: Date,
    revokeReasonCode: String,
    revokeReason: String,
    revokedBy: { id: String, role: String, name: String },
  },
  { collection: 'certificates', versionKey: false },
);

export function certificateModels(conn: Connection) {
  return { Certificate: conn.model<CertificateDoc>('Certificate', certificateSchema) };
}
