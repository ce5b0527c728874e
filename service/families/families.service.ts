import crypto from 'node:crypto';
import type { ApplicationDoc, HistoryEntry } from '../applications/applications.model';
import { recordCertificateChange } from '../applications/applications.store';
import { FINAL } from '../applications/workflow';
import type { AppContext } from '../context';
import { AppError } from '../lib/errors';
import type { Bilingual } from '../lib/i18n';
import { idHash } from '../lib/personal';
import type { CertificateDoc } from '../certificates/certificates.model';
import { recordSuperseded, revokeCertificate } from '../certificates/certificates.store';
import type { FamilyDoc } from './families.model';
import { familyCases, familyCertificates, linkToFamily } from './families.store';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'keys'>;

/** Keyed hash of a couple's two ID numbers, order-free: links their certificates without storing either number. */
export function coupleKeyOf(ctx: Pick<AppContext, 'keys'>, form: Record<string, unknown>): string | undefined {
  const husband = (form.husband as { idNumber?: string } | undefined)?.idNumber;
  const wife = (form.wife as { idNumber?: string } | undefined)?.idNumber;
  if (!husband || !wife) return undefined;
  const pair = [idHash(ctx.keys.idHash, husband), idHash(ctx.keys.idHash, wife)].sort().join(':');
  return crypto.createHmac('sha256', ctx.keys.idHash).update(`couple:${pair}`).digest('base64url');
}

/** A draft that claimed the open-case key this long ago and never took its number belongs to a dead request. */
const STALE_CLAIM_MS = 60_000;

/** Who a case is about, as far as its form says so far. */
export interface Parties {
  /** ID hashes of the people who are parties: both spouses; for the migrant certificate, the woman. */
  hashes: string[];
  /** Every party field is filled in. */
  complete: boolean;
  /** The couple's family record (`_id`), when both spouses are named. */
  familyKey?: string;
  /** What the open-case key is built from: the couple, or the woman for the migrant certificate. */
  partyKey?: string;
}

function hashOf(ctx: Pick<AppContext, 'keys'>, person: unknown): string | undefined {
  const idNumber = (person as { idNumber?: unknown } | undefined)?.idNumber;
  return typeof idNumber === 'string' && idNumber.trim() ? idHash(ctx.keys.idHash, idNumber.trim()) : undefined;
}

export function partiesOf(ctx: Pick<AppContext, 'keys'>, type: string, form: Record<string, unknown>): Parties {
  if (type === 'migrant-marriage') {
    const woman = hashOf(ctx, form.applicant);
    return { hashes: woman ? [woman] : [], complete: !!woman, partyKey: woman && `woman:${woman}` };
  }
  const spouses = [hashOf(ctx, form.husband), hashOf(ctx, form.wife)].filter((h): h is string => !!h);
  const familyKey = spouses.length === 2 ? coupleKeyOf(ctx, form) : undefined;
  return { hashes: spouses, complete: spouses.length === 2, familyKey, partyKey: familyKey && `couple:${familyKey}` };
}

/**
 * Only a party files: the signed-in resident (or the resident a kiosk files for) must be a spouse
 * named in the form, or the woman herself for the migrant certificate. A draft still missing ID
 * numbers passes until they are there (`strict` at submission).
 */
export function checkParty(ctx: Pick<AppContext, 'keys'>, type: string, form: Record<string, unknown>, residentIdHash: string, strict: boolean): void {
  const parties = partiesOf(ctx, type, form);
  if (parties.hashes.includes(residentIdHash)) return;
  if (!strict && !parties.complete) return;
  const detail: Bilingual =
    type === 'migrant-marriage'
      ? { zh: '流动人口婚育证明只能由本人申请：申请表中申请人的身份证号码须为办理人本人的', en: 'The migrant certificate is filed by the woman herself: the form’s applicant must be the person filing' }
      : { zh: '只能申请本人作为夫妻一方的证件：申请表中丈夫或妻子的身份证号码须为办理人本人的', en: 'You may file only for a couple you belong to: the husband’s or wife’s ID number in the form must be yours' };
  throw new AppError('not_a_party', detail, [{ path: type === 'migrant-marriage' ? 'form.applicant.idNumber' : 'form.husband.idNumber', code: 'not_a_party', messages: detail }]);
}

const openCaseId = (type: string, partyKey: string): string => `${type}:${partyKey}`;

/** The couple's valid honour certificates, through the couple's key document (lib/keyindex): a read by `_id`. */
const validHonours = (ctx: Pick<AppContext, 'models'>, familyKey: string): Promise<CertificateDoc[]> =>
  familyCertificates(ctx, familyKey, { type: 'only-child-honour', status: 'valid' });

/** Refusals that depend on what the couple already holds: a second honour certificate. */
export async function checkHoldings(ctx: Ctx, type: string, parties: Parties): Promise<void> {
  if (type !== 'only-child-honour' || !parties.familyKey) return;
  const [held] = await validHonours(ctx, parties.familyKey);
  if (held) {
    throw new AppError(
      'honour_held',
      { zh: `该夫妻已持有独生子女父母光荣证（证号 ${held.serial}），不能重复申领`, en: `This couple already holds an only-child parents' honour certificate (${held.serial}); there is no second one` },
      undefined,
      { existingSerial: held.serial },
    );
  }
}

/**
 * Takes the couple's open-case key for this type, or refuses with the number of the case holding
 * it. The unique `_id` makes concurrent submissions for one couple agree on exactly one winner.
 */
export async function claimOpenCase(ctx: Ctx, app: Pick<ApplicationDoc, '_id' | 'type'>, parties: Parties, typeName: Bilingual): Promise<string | undefined> {
  if (!parties.partyKey) return undefined;
  const _id = openCaseId(app.type, parties.partyKey);
  const mine = app._id.toString();
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const now = ctx.clock.now();
    try {
      await ctx.models.OpenCase.create({ _id, applicationId: mine, at: now });
      return _id;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    const holder = await ctx.models.OpenCase.findById(_id).lean();
    if (!holder) continue;
    if (holder.applicationId === mine) return _id;
    const other = await ctx.models.Application.findById(holder.applicationId, { status: 1, number: 1 }).lean<Pick<ApplicationDoc, 'status' | 'number'>>();
    const stale = !other || FINAL.includes(other.status) || (other.status === 'draft' && now.getTime() - new Date(holder.at).getTime() > STALE_CLAIM_MS);
    if (stale) {
      await ctx.models.OpenCase.deleteOne({ _id, applicationId: holder.applicationId });
      continue;
    }
    const number = other.number ?? '';
    throw new AppError(
      'case_open',
      {
        zh: `已有一件正在办理的${typeName.zh}申请${number ? `（受理编号 ${number}）` : ''}，办结或撤回前不能再次提交`,
        en: `There is already an open ${typeName.en} case for ${parties.familyKey ? 'this couple' : 'this person'}${number ? ` (number ${number})` : ''}; it must be decided or withdrawn first`,
      },
      undefined,
      { existingNumber: other.number ?? null },
    );
  }
  throw new AppError('conflict');
}

/** The case has ended: its open-case key is free for the couple's next case of this type. */
export async function releaseOpenCase(ctx: Pick<AppContext, 'models'>, app: Pick<ApplicationDoc, '_id' | 'openCaseKey'>): Promise<void> {
  if (!app.openCaseKey) return;
  await ctx.models.OpenCase.deleteOne({ _id: app.openCaseKey, applicationId: app._id.toString() });
}

export async function recordApplication(ctx: Ctx, app: Pick<ApplicationDoc, '_id' | 'number' | 'type' | 'submittedAt'>, parties: Parties): Promise<void> {
  if (!parties.familyKey) return;
  await linkToFamily(ctx, parties.familyKey, parties.hashes, 'applications', 'id', { id: app._id.toString(), number: app.number, type: app.type, submittedAt: app.submittedAt });
}

export async function recordCertificate(ctx: Ctx, familyKey: string, cert: { serial: string; type: string; issuedAt: Date }): Promise<void> {
  await linkToFamily(ctx, familyKey, undefined, 'certificates', 'serial', cert);
}

/** Living children the couple had together: the count the two- and three-child regimes look at. */
function jointChildren(form: Record<string, unknown>, bornBy?: string): number {
  const children = Array.isArray(form.children) ? (form.children as { alive?: boolean; origin?: string; birthDate?: string }[]) : [];
  return children.filter((c) => c.alive !== false && (c.origin ?? 'joint') === 'joint' && (!bornBy || (c.birthDate ?? '') <= bornBy)).length;
}

/** Does this approval authorise the couple a further child, which ends their only-child pledge? */
export function authorisesFurtherChild(app: Pick<ApplicationDoc, 'type' | 'ruleSetVersion'>, form: Record<string, unknown>): boolean {
  if (app.type === 'rebirth-permit') return true;
  return app.type === 'birth-service' && /^[CD]-/.test(app.ruleSetVersion ?? '') && jointChildren(form) >= 1;
}

/**
 * The couple's honour certificate ends when they are authorised a further child: it is revoked as
 * superseded, the new certificate names it and it names the new one, the honour case's history
 * records it and its holder is told. Idempotent: only a still-valid honour certificate changes.
 */
export async function supersedeHonour(
  ctx: Ctx,
  app: ApplicationDoc,
  familyKey: string,
  notify: (honourApp: ApplicationDoc) => Promise<void>,
): Promise<string[]> {
  const serial = app.certificate?.serial ?? app.certificateSerial;
  if (!serial) return [];
  const now = ctx.clock.now();
  const superseded: string[] = [];
  const label = app.type === 'rebirth-permit' ? '再生育证' : '生育服务证';
  const honours = await validHonours(ctx, familyKey);
  for (const honour of honours) {
    const revoked = await revokeCertificate(ctx, honour._id, {
      revokedAt: now,
      revokeReason: `${label} ${serial} 已批准 / superseded by ${app.type} ${serial}`,
      revokeReasonCode: 'superseded',
      revokedBy: { id: 'system', role: 'system', name: '系统' },
      supersededBy: serial,
    });
    if (!revoked) continue;
    superseded.push(honour.serial);
    const entry: HistoryEntry & { certificateSerial: string } = {
      at: now,
      actor: { id: 'system', role: 'system', name: '系统' },
      channel: 'system',
      action: 'certificate-superseded',
      from: 'approved',
      to: 'approved',
      reason: `夫妻已获准再生育（${label} ${serial}），独生子女父母光荣证 ${honour.serial} 相应注销`,
      certificateSerial: serial,
    };
    const honourApp = await recordCertificateChange(ctx, honour.applicationId, entry);
    if (honourApp) await notify(honourApp);
  }
  await recordSuperseded(ctx, serial, superseded);
  return superseded;
}

export interface FamilyFlag {
  code: 'children-count' | 'marriage-date';
  otherNumber: string | null;
  otherType: string;
  message: Bilingual;
}

/**
 * Declarations across the couple's cases that cannot both be true, for the officer (never a
 * refusal: circumstances change). Children are compared as of the earlier of the two submissions,
 * so a child born in between is no inconsistency.
 */
export async function familyFlags(ctx: Pick<AppContext, 'models'>, app: ApplicationDoc, formOf: (a: ApplicationDoc) => Record<string, unknown>): Promise<FamilyFlag[]> {
  if (!app.familyKey) return [];
  const mineId = app._id.toString();
  const others = (await familyCases(ctx, app.familyKey)).filter((a) => a._id.toString() !== mineId).slice(0, 50);
  const mine = formOf(app);
  const flags: FamilyFlag[] = [];
  const at = (a: ApplicationDoc): string => new Date(a.submittedAt ?? a.createdAt).toISOString().slice(0, 10);
  for (const other of others) {
    const theirs = formOf(other);
    const asOf = at(app) < at(other) ? at(app) : at(other);
    const a = jointChildren(mine, asOf);
    const b = jointChildren(theirs, asOf);
    const numbers = `${app.number ?? '—'} / ${other.number ?? '—'}`;
    if (a !== b) {
      flags.push({
        code: 'children-count',
        otherNumber: other.number ?? null,
        otherType: other.type,
        message: {
          zh: `子女数申报不一致：本件申报截至 ${asOf} 的共同子女 ${a} 个，同一夫妻的申请 ${other.number ?? ''} 申报 ${b} 个（${numbers}）`,
          en: `Children declared differently: this case declares ${a} joint children born by ${asOf}, the couple's case ${other.number ?? ''} declares ${b} (${numbers})`,
        },
      });
    }
    const ours_ = (mine.marriage as { date?: string } | undefined)?.date;
    const theirDate = (theirs.marriage as { date?: string } | undefined)?.date;
    if (ours_ && theirDate && ours_ !== theirDate) {
      flags.push({
        code: 'marriage-date',
        otherNumber: other.number ?? null,
        otherType: other.type,
        message: {
          zh: `结婚日期申报不一致：本件为 ${ours_}，同一夫妻的申请 ${other.number ?? ''} 为 ${theirDate}（${numbers}）`,
          en: `Marriage date declared differently: ${ours_} here, ${theirDate} in the couple's case ${other.number ?? ''} (${numbers})`,
        },
      });
    }
  }
  return flags;
}

/** The family record as an officer sees it: the couple's cases and certificates, in order. */
export async function familyOf(ctx: Pick<AppContext, 'models'>, familyKey: string) {
  const family = await ctx.models.Family.findById(familyKey).lean<FamilyDoc>();
  const apps = (await familyCases(ctx, familyKey)).slice(0, 100);
  const certs = (await familyCertificates(ctx, familyKey)).slice(0, 100);
  return {
    since: family?.createdAt ?? null,
    applications: apps.map((a) => ({
      id: a._id.toString(),
      number: a.number ?? null,
      type: a.type,
      status: a.status,
      channel: a.channel,
      submittedAt: a.submittedAt ?? null,
      decidedAt: a.decidedAt ?? null,
      certificateSerial: a.certificateSerial ?? null,
    })),
    certificates: certs.map((c) => ({
      serial: c.serial,
      type: c.type,
      status: c.status,
      issuedAt: c.issuedAt,
      revokedAt: c.revokedAt ?? null,
      revokeReason: c.revokeReason ?? null,
      supersededBy: (c as { supersededBy?: string }).supersededBy ?? null,
      supersedes: (c as { supersedes?: string[] }).supersedes ?? [],
    })),
  };
}
