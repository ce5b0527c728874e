import type { Types } from 'mongoose';
import sift from 'sift';
import type { ApplicationDoc } from '../applications/applications.model';
import { SERIAL_KEY, type CertificateDoc } from '../certificates/certificates.model';
import type { AppContext } from '../context';
import { addKey, backfillKeys, findByKey, findOneByKey, type KeyDoc } from '../lib/keyindex';
import { readPeriodFacts, type ApplicationFact } from '../stats/stats.store';
import type { IsoDate } from '../lib/workdays';

/**
 * What the officer search and the register read, by `_id` only (issue 15): key documents
 * (lib/keyindex.ts) for what a case is searched by, and the statistics' period buckets for the
 * decided cases of a period (stats/stats.store.ts).
 *
 * - `search:<key>` lists, for each keyed hash a case carries (`searchKeys`: the spouses' ID numbers,
 *   names and name beginnings), the cases as `<id>@<division>`: a common surname's beginning lists
 *   thousands across the county, and the division lets a township officer's search open only the
 *   cases of the township. `access-code:<hash>` lists the case of an access code; the number has
 *   `application-number:<number>` (applications.service.ts). Keys are added before the write that
 *   gives the case its keys, and every case found is checked against the full filter, so a key is
 *   never missing and a stale one finds nothing.
 */
type Ctx = Pick<AppContext, 'models'>;

export const SEARCH_KEY = 'search';
export const ACCESS_CODE_KEY = 'access-code';

const tag = (id: Types.ObjectId | string, division: string | undefined): string => `${id.toString()}@${division ?? ''}`;

/** Before the write that gives the case these keys (submission, resubmission). */
export async function addSearchKeys(ctx: Ctx, id: Types.ObjectId, division: string, searchKeys: string[], accessCodeHash?: string): Promise<void> {
  await Promise.all(searchKeys.map((k) => addKey(ctx.models, SEARCH_KEY, k, tag(id, division))));
  if (accessCodeHash) await addKey(ctx.models, ACCESS_CODE_KEY, accessCodeHash, id);
}

/**
 * The cases carrying a search key, newest first, whose division `inScope` accepts and which match
 * `filter` (checked in memory on each case read by `_id`); at most `limit`.
 */
export async function findBySearchKey(ctx: Ctx, key: string, inScope: (division: string) => boolean, filter: Record<string, unknown>, limit: number): Promise<ApplicationDoc[]> {
  const doc = await ctx.models.KeyIndex.findById(`${SEARCH_KEY}:${key}`).lean<KeyDoc>();
  const tagged = (doc?.ids ?? []).map(String).map((t) => [t.slice(0, t.indexOf('@')), t.slice(t.indexOf('@') + 1)] as const);
  const ids = [...new Set(tagged.filter(([id, division]) => id && inScope(division)).map(([id]) => id))].sort().reverse();
  const matches = sift(filter);
  const out: ApplicationDoc[] = [];
  for (let i = 0; i < ids.length && out.length < limit; i += 20) {
    const docs = await Promise.all(ids.slice(i, i + 20).map((id) => ctx.models.Application.findById(id, { history: 0, documents: 0 }).lean<ApplicationDoc>()));
    for (const d of docs) if (d && matches(d) && out.length < limit) out.push(d);
  }
  return out;
}

/** The case of an access code (by its keyed hash), checked against `filter`. */
export const findByAccessCode = (ctx: Ctx, hash: string, filter: Record<string, unknown>): Promise<ApplicationDoc[]> =>
  findByKey<ApplicationDoc>(ctx.models, ctx.models.Application, ACCESS_CODE_KEY, hash, filter);

/** Start-up: adds the search and access-code keys missing for stored cases (before these keys existed, or lost). One scan. */
export async function backfillSearchKeys(ctx: Ctx): Promise<number> {
  const apps = await ctx.models.Application.find({}, { _id: 1, division: 1, searchKeys: 1, 'accessCode.hash': 1 }).lean<Pick<ApplicationDoc, '_id' | 'division' | 'searchKeys' | 'accessCode'>[]>();
  const search = apps.flatMap((a) => (a.searchKeys ?? []).map((k): [string, string] => [k, tag(a._id, a.division)]));
  const codes = apps.filter((a) => a.accessCode?.hash).map((a): [string, Types.ObjectId] => [a.accessCode!.hash, a._id]);
  return (await backfillKeys(ctx.models, SEARCH_KEY, search)) + (await backfillKeys(ctx.models, ACCESS_CODE_KEY, codes));
}

/** The facts of the cases with an event in the months from `from` to `to`, for the townships `wanted` says. */
export async function periodCases(ctx: Ctx, from: IsoDate, to: IsoDate, wanted: (township: string) => boolean): Promise<[string, ApplicationFact][]> {
  return [...(await readPeriodFacts(ctx.models, from, to, wanted)).applications];
}

export type CertificateState = Pick<CertificateDoc, 'serial' | 'status' | 'issuedAt' | 'validUntil'>;

/** The register entries of these cases' certificates, by `_id` (an entry takes its application's), else by serial key. */
export async function certificatesOf(ctx: Ctx, cases: { id: string; serial: string }[]): Promise<Map<string, CertificateState>> {
  const out = new Map<string, CertificateState>();
  for (let i = 0; i < cases.length; i += 20) {
    const found = await Promise.all(
      cases.slice(i, i + 20).map(async ({ id, serial }) => {
        const byId = await ctx.models.Certificate.findById(id, { serial: 1, status: 1, issuedAt: 1, validUntil: 1 }).lean<CertificateState>();
        return byId?.serial === serial ? byId : findOneByKey<CertificateDoc>(ctx.models, ctx.models.Certificate, SERIAL_KEY, serial, { serial });
      }),
    );
    for (const c of found) if (c) out.set(c.serial, c);
  }
  return out;
}
