import type { Model, Types } from 'mongoose';
import type { ApplicationDoc } from '../applications/applications.model';
import { COUPLE_KEY, type CertificateDoc } from '../certificates/certificates.model';
import type { AppContext } from '../context';
import { trustedFilter } from '../lib/database';
import { addKey, backfillKeys, findByKey } from '../lib/keyindex';

/**
 * The family record's reads and writes. A couple's cases and certificates are found through key
 * documents (lib/keyindex.ts), never by a filter on the growing applications or certificates
 * collections: the couple's key → their applications (written before the application carries the
 * key), and the certificates' `certificate-couple` key (certificates/). Each read checks every
 * document in memory, so a key whose write of the document was lost finds nothing.
 */
type Store = Pick<AppContext, 'models'>;

/** Key documents: a couple's family key → the applications that carry it. */
export const FAMILY_CASES_KEY = 'family-application';

/** Before an application is written with this family key (at submission and resubmission). */
export async function keyFamilyCase(ctx: Store, familyKey: string, applicationId: Types.ObjectId): Promise<void> {
  await addKey(ctx.models, FAMILY_CASES_KEY, familyKey, applicationId);
}

/** The couple's submitted applications, first submitted first. */
export async function familyCases(ctx: Store, familyKey: string): Promise<ApplicationDoc[]> {
  const model = ctx.models.Application as unknown as Model<ApplicationDoc>;
  const found = await findByKey<ApplicationDoc>(ctx.models, model, FAMILY_CASES_KEY, familyKey, { familyKey, submittedAt: { $exists: true } });
  const at = (a: ApplicationDoc): number => new Date(a.submittedAt ?? a.createdAt).getTime();
  return found.sort((a, b) => at(a) - at(b));
}

/** The certificates issued to the couple, first issued first. */
export async function familyCertificates(ctx: Store, familyKey: string, filter: Record<string, unknown> = {}): Promise<CertificateDoc[]> {
  const found = await findByKey<CertificateDoc>(ctx.models, ctx.models.Certificate as unknown as Model<CertificateDoc>, COUPLE_KEY, familyKey, { ...filter, coupleKey: familyKey });
  return found.sort((a, b) => new Date(a.issuedAt).getTime() - new Date(b.issuedAt).getTime());
}

/** Adds a link to the family record (creating it), once: a repeat matches nothing and its upsert collides. */
export async function linkToFamily(
  ctx: Pick<AppContext, 'models' | 'clock'>,
  familyKey: string,
  spouses: string[] | undefined,
  list: 'applications' | 'certificates',
  idField: 'id' | 'serial',
  entry: Record<string, unknown>,
): Promise<void> {
  const now = ctx.clock.now();
  try {
    await ctx.models.Family.updateOne(
      trustedFilter({ _id: familyKey, [`${list}.${idField}`]: { $ne: entry[idField] } }),
      { $push: { [list]: entry }, $set: { updatedAt: now }, $setOnInsert: { createdAt: now, ...(spouses ? { spouses: [...spouses].sort() } : {}) } },
      { upsert: true },
    );
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
  }
}

/** Start-up (and the bench after seeding raw documents): the family keys missing for stored applications, from one scan. */
export async function backfillFamilyKeys(ctx: Store): Promise<number> {
  const all = await ctx.models.Application.find({}, { familyKey: 1 }).lean<Pick<ApplicationDoc, '_id' | 'familyKey'>[]>();
  return backfillKeys(ctx.models, FAMILY_CASES_KEY, all.filter((a) => a.familyKey).map((a): [string, Types.ObjectId] => [a.familyKey!, a._id]));
}
