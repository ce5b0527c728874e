import type { ApplicationDoc } from '../applications/applications.model';
import { accessCodeHash, NUMBER_KEY } from '../applications/applications.service';
import { applicationScope, countyWide } from '../lib/access';
import type { AppContext } from '../context';
import type { Principal } from '../lib/auth';
import { AppError } from '../lib/errors';
import { ID_PROBLEM_MESSAGES, parseIdNumber } from '../lib/idnumber';
import { findByKey } from '../lib/keyindex';
import { openJson, openName } from '../lib/personal';
import { chinaDate } from '../lib/workdays';
import type { SearchQuery } from './ledger.schemas';
import type { ApplicationFact } from '../stats/stats.store';
import { townshipSelector } from '../stats/stats.store';
import { certificatesOf, findByAccessCode, findBySearchKey, periodCases, type CertificateState } from './ledger.store';
import { idKey, MAX_PREFIX, nameKey, normaliseName, prefixKey } from './search';
import { csvLine } from '../lib/csv';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'keys' | 'config' | 'policy'>;

export type SearchKind = 'number' | 'accessCode' | 'idNumber' | 'name' | 'namePrefix';

const one = (messages: { zh: string; en: string }) => new AppError('validation_failed', undefined, [{ path: 'number', code: 'oneOf', messages }]);

/**
 * One search criterion: the key document it is looked up by (lib/keyindex.ts, ledger.store.ts) and
 * the filter each case found is checked against; never a scan of clear text or of the collection.
 */
type Criterion = { kind: SearchKind; filter: Record<string, unknown>; longPrefix?: string } & ({ by: 'number'; number: string } | { by: 'accessCode'; hash: string } | { by: 'searchKey'; key: string });

function criterion(ctx: Ctx, q: SearchQuery): Criterion {
  const given = (['number', 'accessCode', 'idNumber', 'name'] as const).filter((k) => q[k] !== undefined);
  if (given.length !== 1) throw one({ zh: '请按受理编号、查询码、身份证号码或姓名中的一项查找', en: 'Search by exactly one of number, accessCode, idNumber or name' });
  if (q.number !== undefined) return { kind: 'number', by: 'number', number: q.number.trim(), filter: { number: q.number.trim() } };
  if (q.accessCode !== undefined) {
    const hash = accessCodeHash(ctx, q.accessCode);
    return { kind: 'accessCode', by: 'accessCode', hash, filter: { 'accessCode.hash': hash } };
  }
  if (q.idNumber !== undefined) {
    const parsed = parseIdNumber(q.idNumber, chinaDate(ctx.clock.now()));
    if (!parsed.ok) throw new AppError('validation_failed', undefined, [{ path: 'idNumber', code: 'format:cn-id-number', messages: ID_PROBLEM_MESSAGES[parsed.problem] }]);
    const key = idKey(ctx, parsed.value.normalized);
    return { kind: 'idNumber', by: 'searchKey', key, filter: { searchKeys: key } };
  }
  const name = normaliseName(q.name ?? '');
  if (!name) throw new AppError('validation_failed', undefined, [{ path: 'name', code: 'minLength', messages: { zh: '请填写姓名', en: 'name is empty' } }]);
  if (q.match !== 'prefix') {
    const key = nameKey(ctx, name);
    return { kind: 'name', by: 'searchKey', key, filter: { searchKeys: key } };
  }
  const chars = [...name];
  // Longer beginnings than the stored prefixes are narrowed after the lookup, on the opened names.
  const key = prefixKey(ctx, chars.slice(0, MAX_PREFIX).join(''));
  return { kind: 'namePrefix', by: 'searchKey', key, filter: { searchKeys: key }, longPrefix: chars.length > MAX_PREFIX ? name : undefined };
}

/** The names a case carries: the resident and the people its form names. */
function namesOf(ctx: Ctx, app: ApplicationDoc): string[] {
  const form = openJson<Record<string, { name?: string } | undefined>>(ctx.keys.dataKey, app.formSealed);
  return [openName(ctx.keys.dataKey, app.resident), form.husband?.name, form.wife?.name, form.applicant?.name, form.spouse?.name].filter((n): n is string => !!n);
}

/** Inside the caller's jurisdiction, by division code (the access module's scope, as a test on a code). */
function divisionInScope(p: Principal): (division: string) => boolean {
  if (countyWide(p)) return () => true;
  const codes = (p.jurisdiction ?? []).map((j) => j.replace(/\D/g, '')).filter(Boolean);
  return (division) => codes.some((c) => division.startsWith(c));
}

/** An officer's search, inside what the officer may see (jurisdiction); newest first. */
export async function searchApplications(ctx: Ctx, p: Principal, q: SearchQuery): Promise<{ kind: SearchKind; items: ReturnType<typeof rowOf>[] }> {
  const c = criterion(ctx, q);
  const limit = Math.min(q.limit ?? 20, 100);
  const filter = { $and: [applicationScope(ctx, p), c.filter] };
  const newestFirst = (apps: ApplicationDoc[]) => apps.sort((a, b) => b._id.toString().localeCompare(a._id.toString()));
  const found =
    c.by === 'number'
      ? newestFirst(await findByKey<ApplicationDoc>(ctx.models, ctx.models.Application, NUMBER_KEY, c.number, filter))
      : c.by === 'accessCode'
        ? newestFirst(await findByAccessCode(ctx, c.hash, filter))
        : await findBySearchKey(ctx, c.key, divisionInScope(p), filter, c.longPrefix ? 500 : limit);
  const kept = c.longPrefix ? found.filter((a) => namesOf(ctx, a).some((n) => normaliseName(n).startsWith(c.longPrefix!))) : found;
  return { kind: c.kind, items: kept.slice(0, limit).map((a) => rowOf(ctx, a)) };
}

function rowOf(ctx: Pick<AppContext, 'keys' | 'policy'>, a: ApplicationDoc) {
  return {
    id: a._id.toString(),
    number: a.number ?? null,
    type: a.type,
    typeName: ctx.policy.type(a.type)?.names ?? null,
    status: a.status,
    channel: a.channel,
    division: a.division ?? null,
    township: a.division?.slice(0, 9) ?? null,
    resident: { name: openName(ctx.keys.dataKey, a.resident), idNumber: a.resident.idMasked },
    submittedAt: a.submittedAt ?? null,
    decidedAt: a.decidedAt ?? null,
    certificateSerial: a.certificateSerial ?? null,
  };
}

export interface LedgerQuery {
  from: string;
  to: string;
  type?: string;
  township?: string;
  outcome?: 'approved' | 'rejected';
  page: number;
  pageSize: number;
}

/** A China calendar date's first instant (Beijing has no daylight saving). */
const chinaDayStart = (date: string): Date => new Date(`${date}T00:00:00+08:00`);

/**
 * The decided cases of the register's period, filter and scope, by decision time then id: from the
 * period buckets (read by `_id`), so the cost follows the period, not the stored history.
 */
async function ledgerCases(ctx: Ctx, p: Principal, q: Omit<LedgerQuery, 'page' | 'pageSize'>): Promise<[string, ApplicationFact][]> {
  if (q.from > q.to) {
    throw new AppError('validation_failed', undefined, [{ path: 'from', code: 'range', messages: { zh: '开始日期不能晚于结束日期', en: 'from must not be after to' } }]);
  }
  const start = chinaDayStart(q.from).getTime();
  const end = chinaDayStart(q.to).getTime() + 86_400_000;
  const inScope = divisionInScope(p);
  const township = q.township?.replace(/\D/g, '') ?? '';
  const facts = await periodCases(ctx, q.from, q.to, townshipSelector(countyWide(p) ? null : (p.jurisdiction ?? [])));
  const decided = (f: ApplicationFact): boolean => {
    if (q.outcome ? f.state !== q.outcome : f.state !== 'approved' && f.state !== 'rejected') return false;
    const at = f.decidedAt ? new Date(f.decidedAt).getTime() : NaN;
    return at >= start && at < end && inScope(f.division) && (!q.type || f.type === q.type) && f.division.startsWith(township);
  };
  return facts
    .filter(([, f]) => decided(f))
    .sort(([a, fa], [b, fb]) => new Date(fa.decidedAt!).getTime() - new Date(fb.decidedAt!).getTime() || (a < b ? -1 : a > b ? 1 : 0));
}

const certificatesFor = (ctx: Ctx, cases: [string, ApplicationFact][]) =>
  certificatesOf(ctx, cases.filter(([, f]) => f.certificateSerial).map(([id, f]) => ({ id, serial: f.certificateSerial! })));

function ledgerRow(ctx: Ctx, id: string, a: ApplicationFact, cert: CertificateState | undefined) {
  return {
    id,
    number: a.number ?? null,
    type: a.type,
    typeName: ctx.policy.type(a.type)?.names ?? null,
    township: a.division ? a.division.slice(0, 9) : null,
    division: a.division || null,
    channel: a.channel,
    outcome: a.state as 'approved' | 'rejected',
    submittedAt: a.submittedAt ?? null,
    decidedAt: a.decidedAt ?? null,
    decidedBy: a.decidedBy ?? null,
    reason: a.state === 'rejected' ? (a.reason ?? null) : null,
    // The register is a list: the masked name is enough to recognise a case; the case view shows the rest.
    resident: { name: a.nameMasked ?? '*', idNumber: a.idMasked },
    certificate: a.certificateSerial ? { serial: a.certificateSerial, status: cert?.status ?? null, issuedAt: cert?.issuedAt ?? null, validUntil: cert?.validUntil ?? null } : null,
  };
}

export type LedgerRow = ReturnType<typeof ledgerRow>;

/** The register (台账): decided cases and the certificates issued with them, by decision date, a page at a time. */
export async function ledgerPage(ctx: Ctx, p: Principal, q: LedgerQuery) {
  const cases = await ledgerCases(ctx, p, q);
  const page = cases.slice((q.page - 1) * q.pageSize, q.page * q.pageSize);
  const certs = await certificatesFor(ctx, page);
  return {
    period: { from: q.from, to: q.to },
    page: q.page,
    pageSize: q.pageSize,
    total: cases.length,
    items: page.map(([id, f]) => ledgerRow(ctx, id, f, f.certificateSerial ? certs.get(f.certificateSerial) : undefined)),
  };
}

/** Rows one CSV export may hold: a year of a county's cases, with room to spare. */
export const LEDGER_CSV_MAX = 50_000;

const CSV_HEADER = ['受理编号 number', '证件类型 type', '乡镇 township', '区划 division', '渠道 channel', '结果 outcome', '受理时间 submitted', '决定时间 decided', '决定人 decided by', '不予许可理由 reason', '申请人 resident', '身份证号 ID (masked)', '证件编号 certificate', '证件状态 certificate status'];

/** The whole period as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese), 200 rows at a time. */
export async function* ledgerCsv(ctx: Ctx, p: Principal, q: Omit<LedgerQuery, 'page' | 'pageSize'>, seen: (ids: string[]) => Promise<void>): AsyncGenerator<string> {
  yield `\uFEFF${csvLine(CSV_HEADER)}`;
  const cases = (await ledgerCases(ctx, p, q)).slice(0, LEDGER_CSV_MAX);
  for (let i = 0; i < cases.length; i += 200) {
    const batch = cases.slice(i, i + 200);
    const certs = await certificatesFor(ctx, batch);
    // Logged before the rows leave: what was shown is in the access log even if the download breaks off.
    await seen(batch.map(([id]) => id));
    for (const [id, f] of batch) {
      const r = ledgerRow(ctx, id, f, f.certificateSerial ? certs.get(f.certificateSerial) : undefined);
      yield csvLine([r.number, r.typeName?.zh ?? r.type, r.township, r.division, r.channel, r.outcome, r.submittedAt, r.decidedAt, r.decidedBy, r.reason, r.resident.name, r.resident.idNumber, r.certificate?.serial, r.certificate?.status]);
    }
  }
}
