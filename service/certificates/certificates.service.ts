import jwt from 'jsonwebtoken';
import { Types } from 'mongoose';
import { nextSequence, type ApplicationDoc, type IssuedCertificate } from '../applications/applications.model';
import { APPLICANT_KEY, formOf, historyEntry, loadVisible } from '../applications/applications.service';
import { approvedOrReserved, recordCertificateChange, storeApproval } from '../applications/applications.store';
import type { AppContext } from '../context';
import { inJurisdiction } from '../lib/access';
import { can, type Principal } from '../lib/auth';
import { crashPoint } from '../lib/crash';
import { issuerName } from '../divisions/divisions';
import { afterDecision } from '../decisions/decisions.service';
import { enqueueNotification } from '../notifications/notifications.service';
import { authorisesFurtherChild, coupleKeyOf, recordCertificate, releaseOpenCase, supersedeHonour } from '../families/families.service';
import { addKey, backfillKeys, findByKey, findOneByKey } from '../lib/keyindex';
import { AppError, notFound } from '../lib/errors';
import { maskName } from '../lib/idnumber';
import type { Logger } from '../lib/logger';
import { encrypt, openName } from '../lib/personal';
import { chinaDate } from '../lib/workdays';
import { COUPLE_KEY, SERIAL_KEY, type CertificateDoc } from './certificates.model';
import { REVOKE_REASONS, type RevokeInput, type RevokeReason } from './certificates.schemas';
import { insertCertificate, recordPlatform, revokeCertificate } from './certificates.store';
import { eLicenceOf } from './content';
import { certificatePdf, formatsOf, type CertificateFormat } from './pdf';
import { saveLink, shortIdOf, tokenUrl, verifyUrl } from './links';
import { signCertificate, verifyCertificateToken, type CertificateSettings } from './signing';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'keys' | 'config' | 'policy'> & Partial<Pick<AppContext, 'platform' | 'logger'>>;

/** The e-licence metadata, or none when configuration lacks a code: a missing code never blocks an issued certificate. */
function safeELicence(ctx: Ctx, cert: Parameters<typeof eLicenceOf>[1]): CertificateDoc['eLicence'] {
  try {
    return eLicenceOf(ctx, cert);
  } catch (err) {
    ctx.logger?.warn({ err: String(err), serial: cert.serial }, 'certificate issued without an e-licence identifier');
    return undefined;
  }
}

/**
 * Hands a new certificate to the provincial e-licence platform, when one is connected. Its answer
 * is recorded on the register entry; a platform outage never undoes an issued certificate.
 */
async function handToPlatform(ctx: Ctx, cert: CertificateDoc): Promise<void> {
  if (!ctx.platform || !cert.eLicence) return;
  let platform: NonNullable<CertificateDoc['platform']>;
  try {
    const { reference } = await ctx.platform.register({ metadata: cert.eLicence, serial: cert.serial, type: cert.type });
    platform = { status: 'registered', reference, at: ctx.clock.now() };
  } catch (err) {
    ctx.logger?.warn({ err: String(err), serial: cert.serial }, 'the provincial e-licence platform did not take a certificate');
    platform = { status: 'failed', at: ctx.clock.now(), error: String(err).slice(0, 200) };
  }
  await recordPlatform(ctx, cert._id, platform);
}

export const certificateSettings = (ctx: Pick<AppContext, 'config'>): CertificateSettings => ({ issuer: ctx.config.tokens.issuer, audience: 'fpc-certificate' });

function addYears(at: Date, years: number): Date {
  const d = new Date(at);
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d;
}

/**
 * Second half of a final approval: take a serial, sign the certificate, and write approval and
 * certificate in one conditional update. Then record it in the register and apply interlocks.
 * Also run by the start-up sweep for an approval a crash interrupted.
 */
export async function completeIssuance(ctx: Ctx, app: ApplicationDoc): Promise<ApplicationDoc> {
  if (!app.issuing) throw new Error('completeIssuance: the decision was not reserved');
  const spec = ctx.policy.type(app.type);
  if (!spec) throw new Error(`unknown certificate type ${app.type}`);
  const now = ctx.clock.now();
  const stage = app.stages[app.stageIndex]!;
  const issuerDivision = stage.division;
  const county = (app.division ?? stage.division).slice(0, 6);
  const year = Number(chinaDate(now).slice(0, 4));
  const seq = await nextSequence(ctx.models, `certificate:${county}:${year}:${spec.serialCode}`);
  const serial = `${county}-${year}-${spec.serialCode}-${String(seq).padStart(6, '0')}`;
  const validUntil = spec.validity ? addYears(now, spec.validity.years) : null;
  const token = signCertificate(ctx.keys.certificate, certificateSettings(ctx), ctx.clock, {
    serial,
    type: app.type,
    holder: app.resident.nameMasked ?? maskName(app.resident.name ?? ''),
    issuedAt: now.toISOString(),
    issuerDivision,
    validUntil: validUntil ? chinaDate(validUntil) : null,
    applicationNumber: app.number!,
  });
  crashPoint('after-sign');
  const payload = jwt.decode(token, { complete: true })!;
  const certificate: IssuedCertificate = {
    serial,
    verifyId: String((payload.payload as { jti: string }).jti),
    token,
    kid: String(payload.header.kid),
    issuedAt: now,
    validUntil,
    issuerDivision,
    coupleKey: coupleKeyOf(ctx, formOf(ctx, app)),
  };
  const by = app.issuing.by;
  const stages = app.stages.map((s, i) => (i === app.stageIndex ? { ...s, decidedAt: now } : s));
  const approved = await storeApproval(
    ctx,
    app,
    { stages, decision: { action: 'approve', reason: app.issuing.reason, by, at: app.issuing.at }, decidedAt: app.issuing.at, certificate },
    {
      ...historyEntry(ctx, 'system', 'approve', 'in_review', 'approved', { stage: stage.id, reason: app.issuing.reason, ruleSetVersion: app.ruleSetVersion }),
      actor: by,
      channel: 'staff',
      at: app.issuing.at,
      certificateSerial: serial,
    },
  );
  if (!approved) throw new AppError('conflict', { zh: '该申请已作出决定', en: 'The application was already decided' });
  crashPoint('after-approve');
  await registerCertificate(ctx, approved);
  await ctx.models.IssuanceMarker.deleteOne({ _id: app._id });
  // The written decision, then the message naming it (also when the recovery sweep completes an issuance).
  await afterDecision(ctx, approved);
  return approved;
}

/**
 * Adds an approved application's certificate to the register (idempotent) and applies interlocks;
 * true when this call added it. The entry's `_id` is the application's, so the register is read by
 * application with the `_id` index every backend has.
 */
export async function registerCertificate(ctx: Ctx, app: ApplicationDoc): Promise<boolean> {
  const c = app.certificate;
  if (!c) return false;
  // The short QR link and the key documents first: a crash before the register entry is retried by
  // recovery, which keys on the entry.
  const shortId = shortIdOf(c.verifyId);
  await saveLink(ctx, { _id: shortId, serial: c.serial, token: c.token });
  await addKey(ctx.models, SERIAL_KEY, c.serial, app._id);
  if (c.coupleKey) await addKey(ctx.models, COUPLE_KEY, c.coupleKey, app._id);
  const created = await insertCertificate(ctx, {
    _id: app._id,
    serial: c.serial,
    applicationId: app._id.toString(),
    applicationNumber: app.number,
    type: app.type,
    verifyId: c.verifyId,
    token: c.token,
    kid: c.kid,
    holderNameSealed: app.resident.nameSealed ?? encrypt(ctx.keys.dataKey, app.resident.name ?? ''),
    holderNameMasked: app.resident.nameMasked ?? maskName(app.resident.name ?? ''),
    holderIdHash: app.resident.idHash,
    holderIdMasked: app.resident.idMasked,
    coupleKey: c.coupleKey,
    issuerDivision: c.issuerDivision,
    issuedAt: c.issuedAt,
    validUntil: c.validUntil,
    status: 'valid',
    shortId,
    eLicence: safeELicence(ctx, {
      serial: c.serial,
      type: app.type,
      holderNameMasked: app.resident.nameMasked ?? maskName(app.resident.name ?? ''),
      holderIdMasked: app.resident.idMasked,
      issuerDivision: c.issuerDivision,
      issuedAt: c.issuedAt,
      validUntil: c.validUntil,
    }),
  });
  if (created) await handToPlatform(ctx, created);
  await releaseOpenCase(ctx, app);
  if (c.coupleKey) {
    await recordCertificate(ctx, c.coupleKey, { serial: c.serial, type: app.type, issuedAt: c.issuedAt });
    // Authorised a further child (re-birth permit; birth service for a second child under C/D): the honour certificate ends.
    if (authorisesFurtherChild(app, formOf(ctx, app))) await supersedeHonour(ctx, app, c.coupleKey, (honourApp) => enqueueNotification(ctx, honourApp));
  }
  return created !== undefined;
}

/**
 * Marks a final approval as in flight, before its decision is reserved: the recovery finds it here
 * if a crash interrupts it. Idempotent (a retried decision keeps the first mark).
 */
export async function markIssuance(ctx: Pick<AppContext, 'models'>, applicationId: Types.ObjectId, at: Date): Promise<void> {
  await ctx.models.IssuanceMarker.updateOne({ _id: applicationId }, { $setOnInsert: { at } }, { upsert: true }).catch((err: unknown) => {
    if ((err as { code?: number }).code !== 11000) throw err;
  });
}

/**
 * Finishes what a marked approval left undone: completes a reserved decision, fills in a missing
 * register entry; then drops the mark. A mark whose application was never reserved (a crash before
 * the reservation, or a lost race) is simply dropped.
 */
async function settle(ctx: Ctx, id: Types.ObjectId): Promise<'completed' | 'registered' | 'none'> {
  let outcome: 'completed' | 'registered' | 'none' = 'none';
  const app = await ctx.models.Application.findById(id).lean<ApplicationDoc>();
  if (app?.status === 'in_review' && app.issuing) {
    await completeIssuance(ctx, app);
    outcome = 'completed';
  } else if (app?.status === 'approved') {
    if (await registerCertificate(ctx, app)) outcome = 'registered';
    // A crash right after the approval also lost its written decision and message.
    await afterDecision(ctx, app);
  }
  await ctx.models.IssuanceMarker.deleteOne({ _id: id });
  return outcome;
}

/**
 * Recovery of interrupted approvals. Every minute it reads only the issuance marks older than
 * `graceMs` (an instance may still be busy with a younger one). At start-up (`full`) it also
 * compares, in memory, one scan of approved or reserved applications with one scan of the register's
 * application ids, so data from before the marks, or a lost mark, is repaired too: linear in the
 * stored data, once.
 */
export async function recoverIssuance(
  ctx: Ctx,
  logger: Pick<Logger, 'info' | 'warn'>,
  graceMs = 60_000,
  opts: { full?: boolean } = {},
): Promise<{ completed: number; registered: number }> {
  const cutoff = new Date(ctx.clock.now().getTime() - graceMs);
  const todo = new Map<string, Types.ObjectId>();
  const marks = await ctx.models.IssuanceMarker.find({}, { _id: 1, at: 1 }).lean();
  for (const m of marks) if (new Date(m.at) <= cutoff) todo.set(m._id.toString(), m._id);
  if (opts.full) {
    const register = await ctx.models.Certificate.find({}, { _id: 1, applicationId: 1, serial: 1, coupleKey: 1 }).lean();
    const registered = new Set(register.map((c) => c.applicationId));
    await backfillKeys(ctx.models, SERIAL_KEY, register.map((c) => [c.serial, c._id]));
    await backfillKeys(ctx.models, COUPLE_KEY, register.filter((c) => c.coupleKey).map((c) => [c.coupleKey!, c._id]));
    const candidates = await approvedOrReserved(ctx, cutoff);
    for (const a of candidates) if (a.status === 'in_review' || !registered.has(a._id.toString())) todo.set(a._id.toString(), a._id);
  }
  let completed = 0;
  let registered = 0;
  for (const id of todo.values()) {
    try {
      const outcome = await settle(ctx, id);
      if (outcome === 'completed') completed += 1;
      if (outcome === 'registered') registered += 1;
    } catch (err) {
      logger.warn({ err: String(err), application: id.toString() }, 'could not complete an interrupted approval');
    }
  }
  if (completed || registered) logger.info({ completed, registered }, 'certificate recovery finished interrupted work');
  return { completed, registered };
}

/** The register entry with this serial (and whatever else `filter` asks), found through its key document. */
function findBySerial(ctx: Pick<AppContext, 'models'>, serial: string, filter: Record<string, unknown> = {}): Promise<CertificateDoc | null> {
  return findOneByKey<CertificateDoc>(ctx.models, ctx.models.Certificate, SERIAL_KEY, serial, { ...filter, serial });
}

export type PublicVerdict = 'valid' | 'revoked' | 'expired' | 'invalid';

function verdictOf(ctx: Pick<AppContext, 'clock'>, cert: CertificateDoc): PublicVerdict {
  if (cert.status === 'revoked') return 'revoked';
  if (cert.validUntil && new Date(cert.validUntil) < ctx.clock.now()) return 'expired';
  return 'valid';
}

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const SERIAL = /^\d{6}-\d{4}-[A-Z]{2}-\d{6}$/;

/**
 * Public verification from what a QR code carries (the signed token) or a printed serial. The token
 * route proves authenticity and shows masked holder data; a bare serial only tells the status.
 */
export async function verifyCertificate(ctx: Ctx, tokenOrSerial: string) {
  if (TOKEN.test(tokenOrSerial)) {
    const result = verifyCertificateToken(ctx.keys.certificate, certificateSettings(ctx), ctx.clock, tokenOrSerial);
    if (!result.ok) return { status: 'invalid' as const, reason: result.reason };
    const cert = await findBySerial(ctx, String(result.claims.serial), { verifyId: result.jti });
    if (!cert) return { status: 'invalid' as const, reason: 'unknown_certificate' };
    const spec = ctx.policy.type(cert.type);
    return {
      status: verdictOf(ctx, cert),
      serial: cert.serial,
      type: cert.type,
      typeName: spec?.names,
      holder: cert.holderNameMasked ?? maskName(cert.holderName ?? ''),
      issuedAt: cert.issuedAt,
      validUntil: cert.validUntil,
      issuerDivision: cert.issuerDivision,
      issuingAuthority: spec?.issuingAuthority,
      issuer: issuerName(cert.issuerDivision),
      revokedAt: cert.revokedAt,
    };
  }
  if (SERIAL.test(tokenOrSerial)) {
    // A printed serial is easy to guess and to walk through: it says only that such a certificate
    // was issued. Whether it is still valid (or revoked, and when) takes the signed token in its QR code.
    if (!(await findBySerial(ctx, tokenOrSerial))) return { status: 'invalid' as const, reason: 'unknown_certificate' };
    return {
      status: 'exists' as const,
      serial: tokenOrSerial,
      message: { zh: '该编号的证件确已签发；请扫描证件上的二维码核验其当前是否有效', en: 'A certificate with this serial was issued; scan its QR code to check whether it is valid now' },
    };
  }
  return { status: 'invalid' as const, reason: 'malformed' };
}

/** Who may see a certificate in full: its holder, officers whose jurisdiction covers it, admins. */
/**
 * Who may see a certificate in full: whoever may see its application (the holder, officers whose
 * jurisdiction covers the applicant's residence, admins), except kiosks.
 */
async function loadVisibleCertificate(ctx: Ctx, p: Principal, serial: string): Promise<CertificateDoc> {
  const missing = notFound({ zh: '未找到该证件', en: 'Certificate not found' });
  const cert = can(p, 'certificate:read-own') || can(p, 'certificate:read-any') ? await findBySerial(ctx, serial) : null;
  if (!cert) throw missing;
  try {
    await loadVisible(ctx, p, cert.applicationId);
  } catch (err) {
    if (err instanceof AppError && err.code === 'not_found') throw missing;
    throw err;
  }
  return cert;
}

/** The holder's name in clear, for the holder and staff. */
export const holderNameOf = (ctx: Pick<AppContext, 'keys'>, cert: CertificateDoc): string =>
  openName(ctx.keys.dataKey, { nameSealed: cert.holderNameSealed, name: cert.holderName });

export function certificateView(ctx: Pick<AppContext, 'clock' | 'config' | 'policy' | 'keys'>, cert: CertificateDoc) {
  return {
    serial: cert.serial,
    type: cert.type,
    typeName: ctx.policy.type(cert.type)?.names,
    status: verdictOf(ctx, cert),
    holder: { name: holderNameOf(ctx, cert), idNumber: cert.holderIdMasked },
    applicationId: cert.applicationId,
    applicationNumber: cert.applicationNumber,
    issuerDivision: cert.issuerDivision,
    issuedAt: cert.issuedAt,
    validUntil: cert.validUntil,
    revokedAt: cert.revokedAt ?? null,
    revokeReason: cert.revokeReason ?? null,
    revokeReasonCode: cert.revokeReasonCode ?? null,
    token: cert.token,
    verifyUrl: verifyUrl(ctx, cert),
    tokenUrl: tokenUrl(ctx, cert),
    eLicence: cert.eLicence ?? null,
    pdfUrl: `/api/v1/certificates/${cert.serial}/certificate.pdf`,
  };
}


export async function getCertificate(ctx: Ctx, p: Principal, serial: string): Promise<CertificateDoc> {
  return loadVisibleCertificate(ctx, p, serial);
}

/** The certificate as a signed PDF, rendered from the register entry and its application for one who may see it. */
export async function certificatePdfFor(ctx: Ctx, p: Principal, serial: string, format: CertificateFormat = 'a4'): Promise<{ cert: CertificateDoc; pdf: Buffer }> {
  const cert = await loadVisibleCertificate(ctx, p, serial);
  if (!formatsOf(ctx, cert.type).includes(format)) {
    throw new AppError('validation_failed', undefined, [
      { path: 'format', code: 'enum', messages: { zh: `该证件没有“${format}”版式，可用：${formatsOf(ctx, cert.type).join('、')}`, en: `This certificate has no "${format}" edition; available: ${formatsOf(ctx, cert.type).join(', ')}` } },
    ]);
  }
  const app = await loadVisible(ctx, p, cert.applicationId);
  const { pdf } = await certificatePdf(ctx, app, cert, format);
  return { cert, pdf };
}

export async function listOwnCertificates(ctx: Ctx, p: Principal): Promise<CertificateDoc[]> {
  const apps = await findByKey<ApplicationDoc>(ctx.models, ctx.models.Application, APPLICANT_KEY, p.id, { applicantId: p.id, status: 'approved' });
  const certs = await Promise.all(apps.filter((a) => a.certificateSerial).map((a) => findBySerial(ctx, a.certificateSerial!, { applicationId: a._id.toString() })));
  return certs.filter((c): c is CertificateDoc => c !== null).sort((a, b) => new Date(b.issuedAt).getTime() - new Date(a.issuedAt).getTime());
}

/** County officers and admins revoke, with a reason; the certificate's application records it. */
export { REVOKE_REASONS, type RevokeReason };

/**
 * A township revokes what it issued; the county anything issued in the county (its jurisdiction is a
 * prefix of every issuer there); an admin anything. The holder is told through the outbox.
 */
export async function revoke(ctx: Ctx, p: Principal, serial: string, input: RevokeInput): Promise<CertificateDoc> {
  const cert = await loadVisibleCertificate(ctx, p, serial);
  if (!inJurisdiction(p, cert.issuerDivision)) {
    throw new AppError('forbidden', { zh: '乡镇只能注销本乡镇发放的证件，县级发放的由县级注销', en: 'A township revokes only what it issued; the county revokes what the county issued' });
  }
  const now = ctx.clock.now();
  const reason = `${REVOKE_REASONS[input.reason].zh}${input.text ? `：${input.text}` : ''}`;
  const revokedBy = { id: p.id, role: p.role, name: p.name };
  const updated = await revokeCertificate(ctx, cert._id, { revokedAt: now, revokeReason: reason, revokeReasonCode: input.reason, revokedBy });
  if (!updated) throw new AppError('conflict', { zh: '该证件已被注销', en: 'The certificate is already revoked' });
  const app = await recordCertificateChange(ctx, cert.applicationId, historyEntry(ctx, p, 'revoke-certificate', 'approved', 'approved', { reason, certificateSerial: serial }));
  if (app) await enqueueNotification(ctx, app);
  return updated;
}
