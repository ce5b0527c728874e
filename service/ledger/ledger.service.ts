import type { ApplicationDoc } from '../applications/applications.model';
import { accessCodeHash } from '../applications/applications.service';
import { applicationScope } from '../lib/access';
import type { AppContext } from '../context';
import type { Principal } from '../lib/auth';
import { trustedFilter } from '../lib/database';
import { AppError } from '../lib/errors';
import { ID_PROBLEM_MESSAGES, maskName, parseIdNumber } from '../lib/idnumber';
import { openJson, openName } from '../lib/personal';
import { chinaDate } from '../lib/workdays';
import { idKey, MAX_PREFIX, nameKey, normaliseName, prefixKey } from './search';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'keys' | 'config' | 'policy'>;

export interface SearchQuery {
  number?: string;
  accessCode?: string;
  idNumber?: string;
  name?: string;
  /** For `name`: the whole normalised name, or its beginning. */
  match?: 'exact' | 'prefix';
  limit?: number;
}

export type SearchKind = 'number' | 'accessCode' | 'idNumber' | 'name' | 'namePrefix';

const one = (messages: { zh: string; en: string }) => new AppError('validation_failed', undefined, [{ path: 'number', code: 'oneOf', messages }]);

/** The filter for one search criterion: equality on an indexed field or key, never a scan of clear text. */
function criterion(ctx: Ctx, q: SearchQuery): { kind: SearchKind; filter: Record<string, unknown>; longPrefix?: string } {
  const given = (['number', 'accessCode', 'idNumber', 'name'] as const).filter((k) => q[k] !== undefined);
  if (given.length !== 1) throw one({ zh: '请按受理编号、查询码、身份证号码或姓名中的一项查找', en: 'Search by exactly one of number, accessCode, idNumber or name' });
  if (q.number !== undefined) return { kind: 'number', filter: { number: q.number.trim() } };
  if (q.accessCode !== undefined) return { kind: 'accessCode', filter: { 'accessCode.hash': accessCodeHash(ctx, q.accessCode) } };
  if (q.idNumber !== undefined) {
    const parsed = parseIdNumber(q.idNumber, chinaDate(ctx.clock.now()));
    if (!parsed.ok) throw new AppError('validation_failed', undefined, [{ path: 'idNumber', code: 'format:cn-id-number', messages: ID_PROBLEM_MESSAGES[parsed.problem] }]);
    return { kind: 'idNumber', filter: { searchKeys: idKey(ctx, parsed.value.normalized) } };
  }
  const name = normaliseName(q.name ?? '');
  if (!name) throw new AppError('validation_failed', undefined, [{ path: 'name', code: 'minLength', messages: { zh: '请填写姓名', en: 'name is empty' } }]);
  if (q.match !== 'prefix') return { kind: 'name', filter: { searchKeys: nameKey(ctx, name) } };
  const chars = [...name];
  // Longer beginnings than the stored prefixes are narrowed after the lookup, on the opened names.
  return { kind: 'namePrefix', filter: { searchKeys: prefixKey(ctx, chars.slice(0, MAX_PREFIX).join('')) }, longPrefix: chars.length > MAX_PREFIX ? name : undefined };
}

/** The names a case carries: the resident and the people its form names. */
function namesOf(ctx: Ctx, app: ApplicationDoc): string[] {
  const form = openJson<Record<string, { name?: string } | undefined>>(ctx.keys.dataKey, app.formSealed);
  return [openName(ctx.keys.dataKey, app.resident), form.husband?.name, form.wife?.name, form.applicant?.name, form.spouse?.name].filter((n): n is string => !!n);
}

/** An officer's search, inside what the officer may see (jurisdiction); newest first. */
export async function searchApplications(ctx: Ctx, p: Principal, q: SearchQuery): Promise<{ kind: SearchKind; items: ReturnType<typeof rowOf>[] }> {
  const { kind, filter, longPrefix } = criterion(ctx, q);
  const limit = Math.min(q.limit ?? 20, 100);
  const found = await ctx.models.Application.find(trustedFilter({ $and: [applicationScope(ctx, p), filter] }), { history: 0, documents: 0 })
    .sort({ _id: -1 })
    .limit(longPrefix ? 500 : limit)
    .lean<ApplicationDoc[]>();
  const kept = longPrefix ? found.filter((a) => namesOf(ctx, a).some((n) => normaliseName(n).startsWith(longPrefix))).slice(0, limit) : found;
  return { kind, items: kept.map((a) => rowOf(ctx, a)) };
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

function ledgerFilter(ctx: Ctx, p: Principal, q: LedgerQuery) {
  if (q.from > q.to) {
    throw new AppError('validation_failed', undefined, [{ path: 'from', code: 'range', messages: { zh: '开始日期不能晚于结束日期', en: 'from must not be after to' } }]);
  }
  const end = chinaDayStart(q.to);
  end.setUTCDate(end.getUTCDate() + 1);
  const parts: Record<string, unknown>[] = [
    applicationScope(ctx, p) as Record<string, unknown>,
    { status: q.outcome ? q.outcome : { $in: ['approved', 'rejected'] }, decidedAt: { $gte: chinaDayStart(q.from), $lt: end } },
  ];
  if (q.type) parts.push({ type: q.type });
  if (q.township) parts.push({ division: { $regex: `^${q.township.replace(/\D/g, '')}` } });
  return trustedFilter({ $and: parts });
}

const LEDGER_FIELDS = { history: 0, documents: 0, formSealed: 0 };

async function certificatesOf(ctx: Ctx, apps: ApplicationDoc[]) {
  const serials = apps.map((a) => a.certificateSerial).filter((s): s is string => !!s);
  const certs = serials.length ? await ctx.models.Certificate.find(trustedFilter({ serial: { $in: serials } }), { serial: 1, status: 1, issuedAt: 1, validUntil: 1, supersededBy: 1 }).lean() : [];
  return new Map(certs.map((c) => [c.serial, c]));
}

function ledgerRow(ctx: Ctx, a: ApplicationDoc, cert: { status: string; issuedAt: Date; validUntil?: Date | null } | undefined) {
  return {
    id: a._id.toString(),
    number: a.number ?? null,
    type: a.type,
    typeName: ctx.policy.type(a.type)?.names ?? null,
    township: a.division?.slice(0, 9) ?? null,
    division: a.division ?? null,
    channel: a.channel,
    outcome: a.status as 'approved' | 'rejected',
    submittedAt: a.submittedAt ?? null,
    decidedAt: a.decidedAt ?? null,
    decidedBy: a.decision?.by?.name ?? null,
    reason: a.status === 'rejected' ? (a.decision?.reason ?? null) : null,
    // The register is a list: the masked name is enough to recognise a case; the case view shows the rest.
    resident: { name: a.resident.nameMasked ?? maskName(openName(ctx.keys.dataKey, a.resident)), idNumber: a.resident.idMasked },
    certificate: a.certificateSerial ? { serial: a.certificateSerial, status: cert?.status ?? null, issuedAt: cert?.issuedAt ?? null, validUntil: cert?.validUntil ?? null } : null,
  };
}

export type LedgerRow = ReturnType<typeof ledgerRow>;

/** The register (台账): decided cases and the certificates issued with them, by decision date, a page at a time. */
export async function ledgerPage(ctx: Ctx, p: Principal, q: LedgerQuery) {
  const filter = ledgerFilter(ctx, p, q);
  const [total, apps] = await Promise.all([
    ctx.models.Application.countDocuments(filter),
    ctx.models.Application.find(filter, LEDGER_FIELDS).sort({ decidedAt: 1, _id: 1 }).skip((q.page - 1) * q.pageSize).limit(q.pageSize).lean<ApplicationDoc[]>(),
  ]);
  const certs = await certificatesOf(ctx, apps);
  return { period: { from: q.from, to: q.to }, page: q.page, pageSize: q.pageSize, total, items: apps.map((a) => ledgerRow(ctx, a, a.certificateSerial ? certs.get(a.certificateSerial) : undefined)) };
}

/** Rows one CSV export may hold: a year of a county's cases, with room to spare. */
export const LEDGER_CSV_MAX = 50_000;

const CSV_HEADER = ['受理编号 number', '证件类型 type', '乡镇 township', '区划 division', '渠道 channel', '结果 outcome', '受理时间 submitted', '决定时间 decided', '决定人 decided by', '不予许可理由 reason', '申请人 resident', '身份证号 ID (masked)', '证件编号 certificate', '证件状态 certificate status'];

/** A CSV cell; a leading = + - @ is defused so that a spreadsheet never runs it as a formula. */
const csvCell = (value: unknown): string => {
  let s = value === null || value === undefined ? '' : value instanceof Date ? value.toISOString() : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The whole period as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese), in pages from a cursor. */
export async function* ledgerCsv(ctx: Ctx, p: Principal, q: Omit<LedgerQuery, 'page' | 'pageSize'>, seen: (ids: string[]) => Promise<void>): AsyncGenerator<string> {
  yield `\uFEFF${CSV_HEADER.map(csvCell).join(',')}\r\n`;
  const filter = ledgerFilter(ctx, p, { ...q, page: 1, pageSize: 1 });
  const cursor = ctx.models.Application.find(filter, LEDGER_FIELDS).sort({ decidedAt: 1, _id: 1 }).limit(LEDGER_CSV_MAX).lean<ApplicationDoc[]>().cursor();
  let batch: ApplicationDoc[] = [];
  const flush = async function* (): AsyncGenerator<string> {
    const certs = await certificatesOf(ctx, batch);
    // Logged before the rows leave: what was shown is in the access log even if the download breaks off.
    await seen(batch.map((a) => a._id.toString()));
    for (const a of batch) {
      const r = ledgerRow(ctx, a, a.certificateSerial ? certs.get(a.certificateSerial) : undefined);
      yield `${[r.number, r.typeName?.zh ?? r.type, r.township, r.division, r.channel, r.outcome, r.submittedAt, r.decidedAt, r.decidedBy, r.reason, r.resident.name, r.resident.idNumber, r.certificate?.serial, r.certificate?.status].map(csvCell).join(',')}\r\n`;
    }
    batch = [];
  };
  for await (const a of cursor as AsyncIterable<ApplicationDoc>) {
    batch.push(a);
    if (batch.length >= 200) yield* flush();
  }
  if (batch.length) yield* flush();
}
