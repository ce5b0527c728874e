import type { Types } from 'mongoose';
import type { AppContext } from '../context';
import { findOneByKey } from '../lib/keyindex';
import { SERIAL_KEY, type CertificateDoc } from './certificates.model';

/**
 * The one module that writes the register of certificates (`certificates`). A certificate changes
 * in few ways: it is entered once, the platform's answer is noted, and it is revoked once (by an
 * officer, or as superseded when the couple is authorised a further child, families.service), each
 * a named operation here. Other capabilities call these and never write the model
 * (`test/ownership.test.ts` pins it).
 */
type Store = Pick<AppContext, 'models'>;

/** Enters a certificate in the register under its application's `_id`; undefined when it is there already. */
export async function insertCertificate(ctx: Store, entry: Omit<CertificateDoc, 'platform' | 'supersedes' | 'supersededBy' | 'applicationNumber'> & { applicationNumber?: string }): Promise<CertificateDoc | undefined> {
  try {
    return (await ctx.models.Certificate.create(entry)).toObject() as CertificateDoc;
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    return undefined;
  }
}

/** What the provincial e-licence platform answered. */
export async function recordPlatform(ctx: Store, id: Types.ObjectId, platform: NonNullable<CertificateDoc['platform']>): Promise<void> {
  await ctx.models.Certificate.updateOne({ _id: id }, { $set: { platform } });
}

export interface Revocation {
  revokedAt: Date;
  revokeReason: string;
  revokeReasonCode: string;
  revokedBy: { id: string; role: string; name: string };
  /** Superseded: the serial of the certificate that took its place. */
  supersededBy?: string;
}

/** Revokes a certificate that is still valid (compare-and-set on its status); null when it was not. */
export async function revokeCertificate(ctx: Store, id: Types.ObjectId, revocation: Revocation): Promise<CertificateDoc | null> {
  return ctx.models.Certificate.findOneAndUpdate({ _id: id, status: 'valid' }, { $set: { status: 'revoked', ...revocation } }, { returnDocument: 'after' }).lean<CertificateDoc>();
}

/** Names, on the new certificate, the ones it superseded (each once); found through its serial's key, written by `_id`. */
export async function recordSuperseded(ctx: Store, serial: string, superseded: string[]): Promise<void> {
  if (!superseded.length) return;
  const cert = await findOneByKey<CertificateDoc>(ctx.models, ctx.models.Certificate, SERIAL_KEY, serial, { serial });
  if (cert) await ctx.models.Certificate.updateOne({ _id: cert._id }, { $addToSet: { supersedes: { $each: superseded } } });
}
