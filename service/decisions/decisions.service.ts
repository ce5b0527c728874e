import crypto from 'node:crypto';
import { nextSequence, type ApplicationDoc } from '../applications/applications.model';
import { formOf, loadVisible } from '../applications/applications.service';
import { chineseDate } from '../certificates/content';
import { REMEDY_BODIES } from '../certificates/issuer';
import { issuerName } from '../divisions/divisions';
import { enqueueNotification } from '../notifications/notifications.service';
import type { AppContext } from '../context';
import { notFound } from '../lib/errors';
import { decrypt, encrypt, openName } from '../lib/personal';
import type { Principal } from '../lib/auth';
import { addWorkingDays, chinaDate } from '../lib/workdays';
import { bilingualLabel, INFO, sign } from '../pdf/document';
import { A4, MM, PdfWriter, SEAL_RED } from '../pdf/writer';
import { DECISION_TITLES, KIND_OF_ACTION, type DecisionDoc, type DecisionFileDoc, type DecisionKind } from './decisions.model';
import { decisionsOf, keyDecision } from './decisions.store';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'keys' | 'config' | 'policy'> & Partial<Pick<AppContext, 'logger'>>;

/** Working days the applicant is given to supplement (the bureau's practice; unverified, kept here as one figure). */
export const SUPPLEMENT_WORKING_DAYS = 10;

const MARGIN = 25 * MM;

/** The decision a case's current state calls for, if any: a final approval, a refusal or a return. */
function pendingDecision(app: ApplicationDoc): { kind: DecisionKind; at: Date } | undefined {
  const action = app.decision?.action;
  if (!action || !app.decision?.at) return undefined;
  if (action === 'approve' && app.status !== 'approved') return undefined;
  if (action === 'reject' && app.status !== 'rejected') return undefined;
  if (action === 'return' && app.status !== 'returned') return undefined;
  return { kind: KIND_OF_ACTION[action]!, at: new Date(app.decision.at) };
}

const decisionId = (app: ApplicationDoc, kind: DecisionKind, at: Date): string => `${app._id.toString()}-${kind}-${at.getTime()}`;

/**
 * Writes the decision the application's state calls for (after the decision itself is stored):
 * numbered, rendered, signed and kept with the case. Idempotent: a decision already written is
 * returned as it is, so a retry or the read-time catch-up never numbers a decision twice.
 */
export async function writeDecision(ctx: Ctx, app: ApplicationDoc): Promise<DecisionDoc | undefined> {
  const due = pendingDecision(app);
  if (!due) return undefined;
  const id = decisionId(app, due.kind, due.at);
  const existing = await ctx.models.Decision.findById(id).lean<DecisionDoc>();
  if (existing) return existing;
  const stage = app.stages[app.stageIndex]!;
  const issuerDivision = stage.division;
  const county = issuerDivision.slice(0, 6);
  const year = Number(chinaDate(due.at).slice(0, 4));
  const seq = await nextSequence(ctx.models, `decision:${county}:${year}:${due.kind}`);
  const number = `桃卫许${DECISION_TITLES[due.kind].mark}字〔${year}〕第${String(seq).padStart(6, '0')}号`;
  const issuer = issuerName(issuerDivision);
  const pdf = await decisionPdf(ctx, app, { id, kind: due.kind, number, issuer, at: due.at });
  const doc: DecisionDoc = {
    _id: id,
    applicationId: app._id.toString(),
    applicationNumber: app.number ?? '',
    kind: due.kind,
    number,
    issuer,
    issuerDivision,
    decidedAt: due.at,
    issuedAt: ctx.clock.now(),
    sha256: crypto.createHash('sha256').update(pdf).digest('hex'),
    size: pdf.length,
  };
  // The key, then the file: a decision entry is always listed and never points at a missing file.
  await keyDecision(ctx, doc.applicationId, id);
  try {
    await ctx.models.DecisionFile.create({ _id: id, pdfSealed: encrypt(ctx.keys.dataKey, pdf.toString('base64')) });
    await ctx.models.Decision.create(doc);
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    return (await ctx.models.Decision.findById(id).lean<DecisionDoc>()) ?? undefined;
  }
  return doc;
}

/**
 * After a decision (its history entry last on `app`): write its document, then tell the applicant,
 * naming the document. A failure to write it is logged and caught up when the case's decisions are
 * next read; the message then goes without the document's number rather than not at all.
 */
export async function afterDecision(ctx: Ctx, app: ApplicationDoc): Promise<void> {
  let written: DecisionDoc | undefined;
  try {
    written = await writeDecision(ctx, app);
  } catch (err) {
    ctx.logger?.error({ err: String(err), application: app._id.toString() }, 'could not write the decision document');
  }
  await enqueueNotification(ctx, app, written ?? null);
}

export function decisionView(d: DecisionDoc) {
  return {
    id: d._id,
    kind: d.kind,
    title: DECISION_TITLES[d.kind].zh,
    number: d.number,
    issuer: d.issuer,
    decidedAt: d.decidedAt,
    issuedAt: d.issuedAt,
    sha256: d.sha256,
    size: d.size,
    url: `/api/v1/applications/${d.applicationId}/decisions/${d._id}`,
  };
}

/** The written decisions of a case the caller may see, oldest first (a missing latest one is written now). */
export async function listDecisions(ctx: Ctx, p: Principal, applicationId: string): Promise<DecisionDoc[]> {
  const app = await loadVisible(ctx, p, applicationId);
  await writeDecision(ctx, app);
  return decisionsOf(ctx, app._id.toString());
}

export async function decisionFile(ctx: Ctx, p: Principal, applicationId: string, id: string): Promise<{ decision: DecisionDoc; pdf: Buffer }> {
  const app = await loadVisible(ctx, p, applicationId);
  const decision = await ctx.models.Decision.findById(id).lean<DecisionDoc>();
  if (!decision || decision.applicationId !== app._id.toString()) throw notFound({ zh: '未找到该文书', en: 'No such decision' });
  const file = await ctx.models.DecisionFile.findById(id).lean<DecisionFileDoc>();
  if (!file) throw notFound({ zh: '未找到该文书', en: 'No such decision' });
  return { decision, pdf: Buffer.from(decrypt(ctx.keys.dataKey, file.pdfSealed), 'base64') };
}

/** A stored decision by its id (for the PDF check), or undefined. */
export async function decisionById(ctx: Pick<AppContext, 'models'>, id: string): Promise<DecisionDoc | undefined> {
  return (await ctx.models.Decision.findById(id).lean<DecisionDoc>()) ?? undefined;
}

async function decisionPdf(ctx: Ctx, app: ApplicationDoc, d: { id: string; kind: DecisionKind; number: string; issuer: string; at: Date }): Promise<Buffer> {
  const spec = ctx.policy.type(app.type);
  const typeName = spec?.names.zh ?? app.type;
  const form = formOf(ctx, app) as { husband?: { name?: string }; wife?: { name?: string }; applicant?: { name?: string } };
  const addressee = form.husband?.name && form.wife?.name ? `${form.husband.name}、${form.wife.name}` : (form.applicant?.name ?? openName(ctx.keys.dataKey, app.resident));
  const submitted = chineseDate(chinaDate(new Date(app.submittedAt ?? app.createdAt)));
  const decided = chineseDate(chinaDate(d.at));
  const title = DECISION_TITLES[d.kind];

  const w = await PdfWriter.create(A4, { title: `${title.zh} ${d.number}`, subject: title.en });
  w.setInfo(INFO.kind, 'decision');
  // Information values stay ASCII (PDF literal strings): the decision's id, not its Chinese number.
  w.setInfo(INFO.decision, d.id);
  const { width, height } = w;
  const textWidth = width - 2 * MARGIN;
  await w.text(d.issuer, width / 2, height - MARGIN - 20, { size: 20, weight: 'bold', align: 'center' });
  await w.text(title.zh, width / 2, height - MARGIN - 52, { size: 22, weight: 'bold', align: 'center' });
  await w.text(title.en, width / 2, height - MARGIN - 70, { size: 10, align: 'center' });
  await w.text(d.number, width / 2, height - MARGIN - 96, { size: 12, align: 'center' });
  w.line(MARGIN, height - MARGIN - 106, width - MARGIN, height - MARGIN - 106, 1.2, SEAL_RED);

  let y = height - MARGIN - 136;
  const body = { size: 12.5, lineHeight: 22, indent: 25 };
  await w.text(`${addressee}：`, MARGIN, y, { size: 12.5 });
  y -= 24;
  const paragraph = async (text: string, style = body): Promise<void> => {
    y = await w.paragraph(text, MARGIN, y, textWidth, style);
  };
  const intro = `你（们）于${submitted}提出的${typeName}申请（受理编号：${app.number ?? '—'}）`;
  if (d.kind === 'approval') {
    const ruleSet = ctx.policy.ruleSets.find((r) => r.version === app.ruleSetVersion);
    const ground = ruleSet?.types[app.type as keyof typeof ruleSet.types]?.grounds.find((g) => g.id === app.ground);
    const basis = ground ? `${ground.citation}（${ground.title.zh}）` : (spec?.legalBasis.map((b) => b.zh).join('、') ?? '');
    await paragraph(`${intro}，经审查，符合${basis}规定的条件。根据《中华人民共和国行政许可法》第三十八条第一款的规定，本机关决定准予行政许可，颁发${typeName}（证件编号：${app.certificateSerial ?? '—'}）。`);
    if (app.decision?.reason) await paragraph(`审查意见：${app.decision.reason}`);
    await paragraph('证件可在网上办理平台下载打印，扫描证件上的二维码可核验其真伪和状态。');
  } else if (d.kind === 'refusal') {
    await paragraph(`${intro}，经审查，不符合法定条件、标准，理由如下：`);
    await paragraph(app.decision?.reason ?? '—', { ...body, indent: 25 });
    await paragraph('根据《中华人民共和国行政许可法》第三十八条第二款的规定，本机关决定不予行政许可。');
    await paragraph(
      `如不服本决定，可以自收到本决定书之日起六十日内向${REMEDY_BODIES.reconsideration}申请行政复议，也可以自收到本决定书之日起六个月内依法向${REMEDY_BODIES.court}提起行政诉讼。`,
    );
  } else {
    let deadline: string;
    try {
      deadline = `${chineseDate(addWorkingDays(d.at, SUPPLEMENT_WORKING_DAYS))}前`;
    } catch {
      deadline = `自收到本通知书之日起${SUPPLEMENT_WORKING_DAYS}个工作日内`;
    }
    await paragraph(`${intro}，申请材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（四）项的规定，现一次性告知你（们）需要补正的全部内容，请于${deadline}补正下列材料：`);
    const names = new Map((spec?.documents ?? []).map((doc) => [doc.kind, doc.name.zh]));
    let i = 1;
    for (const item of app.missing ?? []) await paragraph(`${i++}. ${names.get(item) ?? item}`, { ...body, indent: 25 });
    if (app.decision?.reason) await paragraph(`说明：${app.decision.reason}`);
    await paragraph('补正期间不计入审批时限。请登录网上办理平台或到村（社区）、乡镇便民服务终端补正后重新提交。');
  }

  const sealX = width - MARGIN - 90;
  const sealY = Math.min(y - 60, 250);
  await w.text(d.issuer, sealX, sealY + 6, { size: 13, align: 'center' });
  await w.text(decided, sealX, sealY - 16, { size: 13, align: 'center' });
  await w.seal(d.issuer, '行政许可专用章', sealX, sealY, 48);
  await bilingualLabel(w, '本文书经数字签名，可上传至核验页面核对。', 'This decision is digitally signed; upload it to the verification page to check it.', MARGIN, MARGIN, 8);
  return sign(ctx, w, `${title.zh} ${d.number}`, d.issuer);
}
