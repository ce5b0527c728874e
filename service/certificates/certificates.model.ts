import { Schema, Types, type Connection } from 'mongoose';
import { factsFollow, syncCertificateFacts } from '../stats/stats.store';

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
  /** One of REVOKE_REASONS (certificates.schemas); revokeReason is its text as the holder reads it. */
  revokeReasonCode?: string;
  revokedBy?: { id: string; role: string; name: string };
  /** The short QR code's identifier (certificate_links._id). */
  shortId?: string;
  /** GB/T 36903 metadata of the national e-licence frame. */
  eLicence?: ELicenceMetadata;
  /** What the provincial e-licence platform answered (absent: not yet handed over). */
  platform?: { status: 'registered' | 'failed'; reference?: string; at: Date; error?: string };
  /** The certificate authorising a further child that ended this honour certificate; and the reverse link. */
  supersededBy?: string;
  supersedes?: string[];
}

export interface ELicenceMetadata {
  identifier: string;
  /** 证照类型代码 */
  typeCode: string;
  /** 证照名称 */
  typeName: string;
  /** 证照编号 */
  licenceNumber: string;
  /**
   * 持证主体 and 持证主体代码类型 (111: resident ID number), masked here as everywhere we store them in
   * clear; the platform adapter reads the full values from the sealed application when it needs them.
   */
  holder: { nameMasked: string; idType: '111'; idMasked: string };
  /** 颁发机构 and its unified social credit code (颁发机构代码). */
  issuer: { name: string; code: string; division: string };
  /** 颁发日期, 有效期起始, 有效期截止 (China dates; null: no end). */
  issuedOn: string;
  validFrom: string;
  validTo: string | null;
}

/**
 * The short QR code's key document: its `_id` is 128 random bits in base32 (26 characters), so the
 * printed code stays small (version ≤ 6) and a lookup is by `_id` alone. It resolves to the signed
 * token, which keeps carrying the proof.
 */
export interface CertificateLinkDoc {
  _id: string;
  serial: string;
  token: string;
}

const linkSchema = new Schema({ _id: { type: String, required: true }, serial: { type: String, required: true }, token: { type: String, required: true } }, { collection: 'certificate_links', versionKey: false });

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
    shortId: String,
    eLicence: { type: Schema.Types.Mixed },
    platform: { type: Schema.Types.Mixed },
    supersededBy: String,
    supersedes: { type: [String], default: undefined },
  },
  { collection: 'certificates', versionKey: false },
);

// Its facts in the statistics' period buckets (stats/stats.store.ts).
factsFollow(certificateSchema, (stats, Certificate, id) => syncCertificateFacts({ ...stats, Certificate }, id));

/**
 * One small record per final approval in flight, written before the decision is reserved and removed
 * once the certificate is in the register. The minutely recovery reads only these (a handful), not
 * the applications: its cost does not grow with the county's history.
 */
export interface IssuanceMarkerDoc {
  /** The application's id. */
  _id: Types.ObjectId;
  at: Date;
}

const issuanceMarkerSchema = new Schema({ _id: Schema.Types.ObjectId, at: { type: Date, required: true } }, { collection: 'issuance_markers', versionKey: false });

/** Key documents (lib/keyindex.ts): a certificate serial, or a couple, → register entries. */
export const SERIAL_KEY = 'certificate-serial';
export const COUPLE_KEY = 'certificate-couple';

export function certificateModels(conn: Connection) {
  return {
    Certificate: conn.model<CertificateDoc>('Certificate', certificateSchema),
    IssuanceMarker: conn.model<IssuanceMarkerDoc>('IssuanceMarker', issuanceMarkerSchema),
    CertificateLink: conn.model<CertificateLinkDoc>('CertificateLink', linkSchema),
  };
}
