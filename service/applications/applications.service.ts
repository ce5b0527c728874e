import crypto from 'node:crypto';
import { Types } from 'mongoose';
import type { AppContext } from '../context';
import { evaluateApplication, type EligibilityResult } from '../eligibility/eligibility.service';
import { applicationScope, filesForResident, residentAccount, residentSide } from '../lib/access';
import type { Channel, Principal } from '../lib/auth';
import { findByIdInScope } from '../lib/database';
import { AppError, notFound, type FieldProblem } from '../lib/errors';
import { documentName } from '../catalogue/catalogue.service';
import type { Language } from '../lib/i18n';
import { ID_PROBLEM_MESSAGES, maskIdForStaff, maskName, parseIdNumber } from '../lib/idnumber';
import { decrypt, encrypt, idHash, openJson, openName, sealJson, sealName } from '../lib/personal';
import { chinaDate, deadlineDetail, deadlineFor, workingDaysBetween } from '../lib/workdays';
import { enqueueNotification } from '../notifications/notifications.service';
import { addKey, backfillKeys, findByKey, findOneByKey, pruneKey } from '../lib/keyindex';
import { keyFamilyCase } from '../families/families.store';
import { SERIAL_KEY, type CertificateDoc } from '../certificates/certificates.model';
import { checkHoldings, checkParty, claimOpenCase, partiesOf, recordApplication, releaseOpenCase } from '../families/families.service';
import { searchKeysOf } from '../ledger/search';
import { addSearchKeys } from '../ledger/ledger.store';
import type { CreateInput, StatusQuery } from './applications.schemas';
import { nextSequence, type Actor, type ApplicationDoc, type HistoryEntry, type StageState } from './applications.model';
import { applyTransition, CLAIMS_KEY, clearProvisionalMark, currentStatus, insertDraft } from './applications.store';
import { countProvisional, provisionalEntryIds } from '../review/queue.store';
import { allowedFrom, FINAL, isAllowed, STATUS_LABELS, type Action, type ApplicationStatus } from './workflow';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'keys' | 'policy' | 'config'>;

/**
 * A submission reserves its draft while it takes a number; a reservation older than this belongs to
 * a request whose process died, and the next submit takes it over.
 */
const SUBMIT_RESERVATION_MS = 60_000;


/** Who did it, for the history: staff and kiosks by name, a resident by the masked name only. */
export const actorOf = (p: Principal): Actor => ({ id: p.id, role: p.role, name: residentAccount(p) ? maskName(p.name) : p.name });

/** The application's form, opened from its sealed form. */
export const formOf = (ctx: Pick<AppContext, 'keys'>, app: Pick<ApplicationDoc, 'formSealed'>): Record<string, unknown> =>
  openJson<Record<string, unknown>>(ctx.keys.dataKey, app.formSealed);

export function historyEntry(
  ctx: Pick<AppContext, 'clock'>,
  p: Principal | 'system',
  action: string,
  from: ApplicationStatus | null,
  to: ApplicationStatus,
  extra: Partial<HistoryEntry> = {},
): HistoryEntry {
  const actor: Actor = p === 'system' ? { id: 'system', role: 'system', name: '系统' } : actorOf(p);
  const channel: Channel | 'system' = p === 'system' ? 'system' : p.channel;
  return { at: ctx.clock.now(), actor, channel, action, from, to, ...extra };
}

export async function loadVisible(ctx: Pick<AppContext, 'models' | 'clock' | 'config'>, p: Principal, id: string): Promise<ApplicationDoc> {
  if (!Types.ObjectId.isValid(id)) throw notFound();
  const app = await findByIdInScope<ApplicationDoc>(ctx.models.Application, new Types.ObjectId(id), applicationScope(ctx, p));
  if (!app) throw notFound({ zh: '未找到该申请', en: 'Application not found' });
  return app;
}

const conflict = (status: ApplicationStatus, action: Action): AppError =>
  new AppError(
    'conflict',
    { zh: `申请当前状态为“${STATUS_LABELS[status].zh}”，不能进行此操作`, en: `The application is ${STATUS_LABELS[status].en}; ${action} is not possible now` },
    undefined,
    // Not `status`: that key is the problem's HTTP status and would overwrite this one.
    { currentStatus: status },
  );

/** Form problems that matter for a draft: everything except fields not filled in yet. */
function draftProblems(result: EligibilityResult): FieldProblem[] {
  return result.errors.filter((e) => e.code !== 'required').map((e) => ({ path: `form.${e.path}`, code: e.code, messages: e.messages }));
}

function requireType(ctx: Pick<AppContext, 'policy'>, type: string) {
  const spec = ctx.policy.type(type);
  if (!spec) {
    throw new AppError('validation_failed', undefined, [
      { path: 'type', code: 'enum', messages: { zh: `没有这种证件：${type}`, en: `Unknown certificate type: ${type}` } },
    ]);
  }
  return spec;
}

/** Refuses a form that could never become an application of this type (fields not filled in yet are fine). */
export function checkDraftForm(ctx: Pick<AppContext, 'policy' | 'clock'>, p: Principal, type: string, form: Record<string, unknown>, lang: Language): void {
  requireType(ctx, type);
  const problems = [...draftProblems(evaluateApplication(ctx.policy, type, form, ctx.clock.now(), lang)), ...villageProblems(p, form)];
  if (problems.length) throw new AppError('validation_failed', undefined, problems);
}

/** The API's body (`CreateInput`); pages pass the type from their URL unchecked, and requireType judges it here. */
export async function createApplication(ctx: Ctx, p: Principal, input: Omit<CreateInput, 'type'> & { type: string }, lang: Language): Promise<ApplicationDoc> {
  const now = ctx.clock.now();
  const form = input.form ?? {};
  checkDraftForm(ctx, p, input.type, form, lang);
  // Open drafts one account (or kiosk) may keep: enough for every type twice, not a store for junk.
  const max = ctx.config.quotas.openDrafts;
  if ((await openDrafts(ctx, p)).length >= max) {
    throw new AppError('rate_limited', {
      zh: `未提交的草稿已有 ${max} 份；请先提交或撤回其中的草稿`,
      en: `There are already ${max} unsubmitted drafts; submit or withdraw one first`,
    });
  }

  let resident: ApplicationDoc['resident'];
  let terminal: ApplicationDoc['terminal'];
  if (filesForResident(p)) {
    const missing = (['resident', 'operatorName', 'consent'] as const).filter((k) => input[k] === undefined);
    if (missing.length) {
      throw new AppError(
        'validation_failed',
        undefined,
        missing.map((m) => ({ path: m, code: 'required', messages: { zh: `终端代办必须填写 ${m}`, en: `A terminal filing needs ${m}` } })),
      );
    }
    const parsed = parseIdNumber(input.resident!.idNumber, chinaDate(now));
    if (!parsed.ok) {
      throw new AppError('validation_failed', undefined, [{ path: 'resident.idNumber', code: 'format:cn-id-number', messages: ID_PROBLEM_MESSAGES[parsed.problem] }]);
    }
    const idNumber = parsed.value.normalized;
    resident = { ...sealName(ctx.keys.dataKey, input.resident!.name), idHash: idHash(ctx.keys.idHash, idNumber), idNumberEnc: encrypt(ctx.keys.dataKey, idNumber), idMasked: maskIdForStaff(idNumber) };
    terminal = {
      terminalId: p.id,
      township: p.township ?? '',
      operatorName: input.operatorName!.trim(),
      consent: { given: true, method: input.consent!.method, at: now, ...(input.consent!.reference ? { reference: input.consent!.reference } : {}) },
    };
  } else {
    if (input.resident || input.operatorName || input.consent) {
      throw new AppError('validation_failed', undefined, [
        { path: 'resident', code: 'additionalProperties', messages: { zh: '只有乡镇终端代办时才填写代办信息', en: 'Only township terminals file for a resident' } },
      ]);
    }
    const account = await ctx.models.Account.findById(p.id).lean();
    if (!account?.idHash || !account.idNumberEnc || !account.idMasked) throw new AppError('forbidden');
    resident = { ...sealName(ctx.keys.dataKey, p.name), idHash: account.idHash, idNumberEnc: account.idNumberEnc, idMasked: account.idMasked };
  }
  checkParty(ctx, input.type, form, resident.idHash, false);

  const _id = new Types.ObjectId();
  const kiosk = filesForResident(p);
  if (!kiosk) await addKey(ctx.models, APPLICANT_KEY, p.id, _id);
  if (kiosk) await addKey(ctx.models, TERMINAL_DRAFT_KEY, p.id, _id);
  if (kiosk) await addKey(ctx.models, TERMINAL_HOUR_KEY, terminalHour(p.id, now), _id);
  // A kiosk case is the resident's too: their own list finds it by the keyed hash of their ID number.
  if (kiosk) await addKey(ctx.models, RESIDENT_KEY, resident.idHash, _id);
  return insertDraft(ctx, {
    _id,
    type: input.type,
    status: 'draft',
    channel: kiosk ? 'terminal' : 'online',
    applicantId: kiosk ? undefined : p.id,
    terminal,
    resident,
    formSealed: sealJson(ctx.keys.dataKey, form),
    division: divisionOf(form),
    stages: [],
    stageIndex: 0,
    pausedWorkingDays: 0,
    documents: [],
    history: [historyEntry(ctx, p, 'create', null, 'draft')],
    createdAt: now,
    updatedAt: now,
  });
}

/**
 * A resident online names the village or community (12 digits); only a kiosk may file with a
 * township code, its default when the resident's village is not at hand.
 */
function villageProblems(p: Principal, form: Record<string, unknown>): FieldProblem[] {
  if (filesForResident(p) || divisionOf(form)?.length !== 9) return [];
  return [{ path: 'form.residence.divisionCode', code: 'village', messages: { zh: '请选择居住地所在的村（居）委会', en: 'Choose the village or community you live in' } }];
}

function divisionOf(form: Record<string, unknown>): string | undefined {
  const residence = form.residence as { divisionCode?: unknown } | undefined;
  return typeof residence?.divisionCode === 'string' ? residence.divisionCode : undefined;
}

/**
 * The one way an application changes: a conditional update on its id, allowed source states and
 * last-seen `updatedAt`, appending its history entry in the same write. Zero matches → 409.
 */
export async function transition(
  ctx: Pick<AppContext, 'models' | 'clock' | 'policy'>,
  app: ApplicationDoc,
  action: Action,
  set: Partial<ApplicationDoc> & Record<string, unknown>,
  entry: HistoryEntry | undefined,
  extraFilter: Record<string, unknown> = {},
  unset: string[] = [],
): Promise<ApplicationDoc> {
  if (!isAllowed(action, app.status)) throw conflict(app.status, action);
  const updated = await applyTransition(ctx, app, action, { set, entry, unset }, extraFilter);
  if (!updated) throw conflict((await currentStatus(ctx, app._id)) ?? app.status, action);
  if (entry) await enqueueNotification(ctx, updated);
  // The case has ended: the couple's open-case key for this type is free again.
  if (FINAL.includes(updated.status)) await releaseOpenCase(ctx, updated);
  return updated;
}

export async function updateDraft(ctx: Ctx, p: Principal, id: string, form: Record<string, unknown>, lang: Language): Promise<ApplicationDoc> {
  const app = await loadVisible(ctx, p, id);
  if (!isAllowed('edit', app.status)) throw conflict(app.status, 'edit');
  const problems = [...draftProblems(evaluateApplication(ctx.policy, app.type, form, ctx.clock.now(), lang)), ...villageProblems(p, form)];
  if (problems.length) throw new AppError('validation_failed', undefined, problems);
  checkParty(ctx, app.type, form, app.resident.idHash, false);
  return transition(ctx, app, 'edit', { formSealed: sealJson(ctx.keys.dataKey, form), division: divisionOf(form) }, historyEntry(ctx, p, 'edit', app.status, app.status));
}

export async function withdraw(ctx: Ctx, p: Principal, id: string, reason: string | undefined): Promise<ApplicationDoc> {
  const app = await loadVisible(ctx, p, id);
  // An approval being issued is a decision already taken: too late to withdraw.
  const issuing = (): AppError =>
    new AppError('conflict', { zh: '该申请已获批准，正在制发证件，不能撤回', en: 'The application has been approved and its certificate is being issued; it cannot be withdrawn' }, undefined, {
      currentStatus: app.status,
    });
  if (app.issuing) throw issuing();
  return transition(
    ctx,
    app,
    'withdraw',
    { status: 'withdrawn', claim: null },
    historyEntry(ctx, p, 'withdraw', app.status, 'withdrawn', reason ? { reason } : {}),
    { issuing: null },
  );
}

/** Stage states for a type: the township stage handled where the applicant lives, the county one above it. */
function plannedStages(ctx: Ctx, type: string, division: string): StageState[] {
  return requireType(ctx, type).stages.map((s) => ({
    id: s.id,
    level: s.level,
    name: s.name,
    division: s.level === 'township' ? division.slice(0, 9) : division.slice(0, 6),
  }));
}

/**
 * Deadlines of a stage entered at `enteredAt`, extended by the working days the clock was paused.
 * `provisional` when they were counted over a year the official holiday data does not cover yet.
 */
export function stageDeadlines(ctx: Pick<AppContext, 'policy'>, type: string, stage: StageState, enteredAt: Date, pausedWorkingDays: number) {
  const spec = ctx.policy.type(type)?.stages.find((s) => s.id === stage.id);
  if (!spec) throw new Error(`stage ${stage.id} is not in the catalogue of ${type}`);
  const statutory = deadlineDetail(enteredAt, spec.statutory, pausedWorkingDays);
  const committed = deadlineDetail(enteredAt, spec.committed, pausedWorkingDays);
  return { statutoryDeadline: statutory.date, committedDeadline: committed.date, provisional: statutory.provisional || committed.provisional };
}

/**
 * The date the whole case is promised by: the current stage's committed deadline, then each later
 * stage's committed limit counted on from the one before. A two-stage case tells the resident this
 * date, not the first stage's alone.
 */
export function caseDeadline(ctx: Pick<AppContext, 'policy'>, app: Pick<ApplicationDoc, 'type' | 'stages' | 'stageIndex' | 'status'>): string | null {
  const current = app.stages[app.stageIndex];
  if (FINAL.includes(app.status) || !current?.committedDeadline) return null;
  let date = current.committedDeadline;
  for (const spec of ctx.policy.type(app.type)?.stages.slice(app.stageIndex + 1) ?? []) date = deadlineFor(date, spec.committed);
  return date;
}

/** The denormalised fields the officer queue reads, from the stage an application now waits in. */
export function queueFields(stage: StageState) {
  return { queueLevel: stage.level, queueDivision: stage.division, queueDeadline: stage.committedDeadline, deadlineProvisional: stage.provisional === true };
}

/**
 * Submits a draft, or resubmits a returned application to the stage that returned it. The same
 * evaluation as the public pre-check decides; then the documents its ground needs must be there.
 */
export async function submit(ctx: Ctx, p: Principal, id: string, lang: Language): Promise<ApplicationDoc> {
  const app = await loadVisible(ctx, p, id);
  const resubmission = app.status === 'returned';
  const action: Action = resubmission ? 'resubmit' : 'submit';
  if (!isAllowed(action, app.status)) throw conflict(app.status, action);
  const now = ctx.clock.now();

  const form = formOf(ctx, app);
  const result = evaluateApplication(ctx.policy, app.type, form, now, lang);
  if (result.errors.length) {
    throw new AppError('unprocessable', { zh: '申请表填写不完整或有误', en: 'The application form is incomplete or invalid' },
      result.errors.map((e) => ({ path: `form.${e.path}`, code: e.code, messages: e.messages })));
  }
  if (!result.eligible) {
    throw new AppError('not_eligible', undefined, undefined, { eligibility: result });
  }
  const present = new Set(app.documents.map((d) => d.kind));
  const missing = result.requiredDocuments.filter((d) => !present.has(d.kind));
  if (missing.length) {
    throw new AppError(
      'missing_documents',
      {
        zh: `缺少材料：${missing.map((d) => d.name.zh).join('、')}`,
        en: `Missing documents: ${missing.map((d) => d.name.en).join(', ')}`,
      },
      missing.map((d) => ({ path: `documents.${d.kind}`, code: 'missing', messages: { zh: `缺少：${d.name.zh}`, en: `Missing: ${d.name.en}` } })),
      { missingDocuments: missing.map((d) => ({ kind: d.kind, name: d.name })) },
    );
  }
  const division = divisionOf(form)!;
  checkParty(ctx, app.type, form, app.resident.idHash, true);
  const parties = partiesOf(ctx, app.type, form);
  const family = { familyKey: parties.familyKey, searchKeys: searchKeysOf(ctx, app.type, form, openName(ctx.keys.dataKey, app.resident)) };
  // The couple's key lists the case before the case carries it (families.store.ts).
  if (parties.familyKey) await keyFamilyCase(ctx, parties.familyKey, app._id);

  if (resubmission) {
    // Each document kind the return named must have been replaced or added since the return.
    const returnedAt = new Date(app.returnedAt ?? 0);
    const stale = (app.missing ?? []).filter((kind) => !app.documents.some((d) => d.kind === kind && new Date(d.uploadedAt) >= returnedAt));
    if (stale.length) {
      const names = stale.map((kind) => documentName(ctx, app.type, kind));
      throw new AppError(
        'missing_documents',
        { zh: `退回补正时要求的材料尚未重新上传：${names.map((n) => n.zh).join('、')}`, en: `Not yet replaced or added since the return: ${names.map((n) => n.en).join(', ')}` },
        stale.map((kind, i) => ({ path: `documents.${kind}`, code: 'not_replaced', messages: { zh: `请重新上传：${names[i]!.zh}`, en: `Upload again: ${names[i]!.en}` } })),
        { missingDocuments: stale.map((kind, i) => ({ kind, name: names[i] })) },
      );
    }
    const paused = app.pausedWorkingDays + workingDaysBetween(app.returnedAt ?? now, now);
    const stages = app.stages.map((s) => ({ ...s }));
    const stage = stages[app.stageIndex]!;
    Object.assign(stage, stageDeadlines(ctx, app.type, stage, stage.enteredAt ?? now, paused));
    // The search keys before the write that carries them (ledger/ledger.store.ts): the form may have changed.
    await addSearchKeys(ctx, app._id, app.division ?? division, family.searchKeys);
    return transition(
      ctx,
      app,
      'resubmit',
      {
        status: 'pending',
        stages,
        pausedWorkingDays: paused,
        ruleSetVersion: result.regime.version,
        ground: result.ground,
        ...family,
        ...queueFields(stage),
      },
      historyEntry(ctx, p, 'resubmit', 'returned', 'pending', { stage: stage.id, ruleSetVersion: result.regime.version }),
      {},
      ['missing'],
    );
  }

  await checkHoldings(ctx, app.type, parties);
  const openCaseKey = await claimOpenCase(ctx, app, parties, requireType(ctx, app.type).names);
  const stages = plannedStages(ctx, app.type, division);
  const first = stages[0]!;
  first.enteredAt = now;
  Object.assign(first, stageDeadlines(ctx, app.type, first, now, 0));
  // The number is taken last, after every check that could refuse, and only by the request that won
  // this revision of the draft (a bare compare-and-set), so neither refusals nor the losers of a
  // race leave gaps; only a crash between the two writes can.
  const won = await transition(ctx, app, 'submit', { submitting: { at: now } }, undefined, {
    $or: [{ submitting: null }, { 'submitting.at': { $lte: new Date(now.getTime() - SUBMIT_RESERVATION_MS) } }],
  });
  const county = division.slice(0, 6);
  // The year of acceptance in China: 00:30 on 1 January Beijing time is still 31 December in UTC.
  const year = chinaDate(now).slice(0, 4);
  const seq = await nextSequence(ctx.models, `application:${county}:${year}`);
  const number = `${county}-${year}-${String(seq).padStart(6, '0')}`;
  await addKey(ctx.models, NUMBER_KEY, number, app._id);
  const accessCode = sealAccessCode(ctx, newAccessCode());
  await addSearchKeys(ctx, app._id, division, family.searchKeys, accessCode.hash);
  const submitted = await transition(
    ctx,
    won,
    'submit',
    {
      status: 'pending',
      number,
      ...family,
      openCaseKey,
      accessCode,
      submittedAt: now,
      stages,
      stageIndex: 0,
      ruleSetVersion: result.regime.version,
      ground: result.ground,
      ...queueFields(first),
    },
    historyEntry(ctx, p, 'submit', 'draft', 'pending', { stage: first.id, ruleSetVersion: result.regime.version }),
    {},
    ['submitting'],
  );
  await recordApplication(ctx, submitted, parties);
  return submitted;
}

/**
 * The caller's own applications, newest first: a resident's through the keys listing their cases, a
 * kiosk's (those it filed within its window) through the keys of the hours it filed them in. Read
 * by `_id` only, each checked against the caller's scope in memory (lib/keyindex.ts). Staff have no
 * applications of their own (the rights table gives them no `application:read-own`).
 */
export async function listOwn(
  ctx: Ctx,
  p: Principal,
  q: { status?: ApplicationStatus; limit: number; before?: string },
): Promise<ApplicationDoc[]> {
  const filter: Record<string, unknown>[] = [applicationScope(ctx, p) as Record<string, unknown>];
  if (q.status) filter.push({ status: q.status });
  if (q.before && Types.ObjectId.isValid(q.before)) filter.push({ _id: { $lt: new Types.ObjectId(q.before) } });
  const matching = { $and: filter };
  const found = (kind: string, value: string) => findByKey<ApplicationDoc>(ctx.models, ctx.models.Application, kind, value, matching);
  let lists: ApplicationDoc[][];
  if (residentAccount(p)) {
    lists = [await found(APPLICANT_KEY, p.id), p.idHash ? await found(RESIDENT_KEY, p.idHash) : []];
  } else if (filesForResident(p)) {
    const now = ctx.clock.now().getTime();
    lists = await Promise.all(hoursSince(now - ctx.config.terminalWindowSeconds * 1000, now).map((hour) => found(TERMINAL_HOUR_KEY, terminalHour(p.id, hour))));
  } else {
    throw new AppError('forbidden');
  }
  return lists
    .flat()
    .sort((a, b) => b._id.toString().localeCompare(a._id.toString()))
    .slice(0, q.limit)
    .map(({ history: _history, ...rest }) => rest as ApplicationDoc);
}

/** Key documents (lib/keyindex.ts): an applicant's account id → their applications; an application number → its application. */
export const APPLICANT_KEY = 'applicant';
export const NUMBER_KEY = 'application-number';
/** The keyed hash of a resident's ID number → the cases kiosks filed for them. */
export const RESIDENT_KEY = 'resident';

/**
 * A kiosk's open drafts, through a key listing the drafts it created; ids of drafts since submitted
 * or withdrawn are pruned on the way, so the key stays as small as the kiosk's open work.
 */
export const TERMINAL_DRAFT_KEY = 'terminal-draft';

/**
 * A kiosk and the hour (UTC) it filed a case in → the cases it filed then. The kiosk's list covers
 * its window (at most an hour, TERMINAL_WINDOW_SECONDS), so it reads the keys of two hours at most,
 * however long the kiosk's history.
 */
export const TERMINAL_HOUR_KEY = 'terminal-hour';
const HOUR_MS = 3_600_000;
const terminalHour = (terminalId: string, at: Date): string => `${terminalId}:${at.toISOString().slice(0, 13)}`;

/** The start of every hour from the one holding `from` to the one holding `to` (milliseconds). */
function hoursSince(from: number, to: number): Date[] {
  const hours: Date[] = [];
  for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h <= to; h += HOUR_MS) hours.push(new Date(h));
  return hours;
}

async function openDrafts(ctx: Pick<AppContext, 'models'>, p: Principal): Promise<ApplicationDoc[]> {
  if (!filesForResident(p)) return findByKey<ApplicationDoc>(ctx.models, ctx.models.Application, APPLICANT_KEY, p.id, { applicantId: p.id, status: 'draft' });
  const all = await findByKey<ApplicationDoc>(ctx.models, ctx.models.Application, TERMINAL_DRAFT_KEY, p.id, { 'terminal.terminalId': p.id });
  await pruneKey(ctx.models, TERMINAL_DRAFT_KEY, p.id, all.filter((a) => a.status !== 'draft').map((a) => a._id));
  return all.filter((a) => a.status === 'draft');
}

/** Start-up: adds the keys missing for applications stored before these keys existed. One scan. */
export async function backfillApplicationKeys(ctx: Pick<AppContext, 'models'>): Promise<number> {
  const apps = await ctx.models.Application.find({}, { _id: 1, number: 1, applicantId: 1, status: 1, 'terminal.terminalId': 1, 'resident.idHash': 1, createdAt: 1, 'claim.officerId': 1 }).lean<
    Pick<ApplicationDoc, '_id' | 'number' | 'applicantId' | 'status' | 'terminal' | 'resident' | 'createdAt' | 'claim'>[]
  >();
  const numbers = apps.filter((a) => a.number).map((a): [string, Types.ObjectId] => [a.number!, a._id]);
  const applicants = apps.filter((a) => a.applicantId).map((a): [string, Types.ObjectId] => [a.applicantId!, a._id]);
  const kioskDrafts = apps.filter((a) => a.terminal && a.status === 'draft').map((a): [string, Types.ObjectId] => [a.terminal!.terminalId, a._id]);
  const kioskResidents = apps.filter((a) => a.terminal && a.resident?.idHash).map((a): [string, Types.ObjectId] => [a.resident.idHash, a._id]);
  const claims = apps.filter((a) => a.status === 'in_review' && a.claim?.officerId).map((a): [string, Types.ObjectId] => [a.claim!.officerId, a._id]);
  const kioskHours = apps.filter((a) => a.terminal && a.createdAt).map((a): [string, Types.ObjectId] => [terminalHour(a.terminal!.terminalId, new Date(a.createdAt)), a._id]);
  return (
    (await backfillKeys(ctx.models, NUMBER_KEY, numbers)) +
    (await backfillKeys(ctx.models, APPLICANT_KEY, applicants)) +
    (await backfillKeys(ctx.models, TERMINAL_DRAFT_KEY, kioskDrafts)) +
    (await backfillKeys(ctx.models, RESIDENT_KEY, kioskResidents)) +
    (await backfillKeys(ctx.models, TERMINAL_HOUR_KEY, kioskHours)) +
    (await backfillKeys(ctx.models, CLAIMS_KEY, claims))
  );
}

/** Letters and digits nobody confuses on a slip of paper or a phone keypad (no 0/O, 1/I/L). */
const ACCESS_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';

/** A short random code for the receipt (8 characters, 39 bits): with the number, it opens the public case query. */
export function newAccessCode(): string {
  const chars = Array.from({ length: 8 }, () => ACCESS_CODE_ALPHABET[crypto.randomInt(ACCESS_CODE_ALPHABET.length)]);
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

const normalizeAccessCode = (code: string): string => code.toUpperCase().replace(/[^0-9A-Z]/g, '');

/** The keyed hash an access code is looked up by (the public query, the officer's search). */
export const accessCodeHash = (ctx: Pick<AppContext, 'keys'>, code: string): string => idHash(ctx.keys.idHash, `access-code:${normalizeAccessCode(code)}`);

/** Kept sealed for the resident's own screens and receipt, and by keyed hash for the lookup. */
const sealAccessCode = (ctx: Pick<AppContext, 'keys'>, code: string) => ({
  hash: accessCodeHash(ctx, code),
  sealed: encrypt(ctx.keys.dataKey, code),
});

/** Whether an approved case's certificate still stands: the public query shows a revocation. */
async function certificateStatus(ctx: Pick<AppContext, 'models'>, app: ApplicationDoc): Promise<'valid' | 'revoked'> {
  const cert = app.certificateSerial
    ? await findOneByKey<CertificateDoc>(ctx.models, ctx.models.Certificate, SERIAL_KEY, app.certificateSerial, { applicationId: app._id.toString() })
    : null;
  return cert?.status === 'revoked' ? 'revoked' : 'valid';
}

/**
 * Public case query: a number with the ID number it was filed for, or with its access code. A wrong
 * pair looks exactly like an unknown number. What was missing for a returned case is not shown here
 * (the resident sees it signed in): only the state, the stage and the dates.
 */
export async function publicStatus(ctx: Ctx, q: StatusQuery) {
  const app = await findOneByKey<ApplicationDoc>(ctx.models, ctx.models.Application, NUMBER_KEY, q.number, { number: q.number });
  let matches = false;
  if (app && q.idNumber !== undefined) {
    const parsed = parseIdNumber(q.idNumber, chinaDate(ctx.clock.now()));
    matches = parsed.ok && app.resident.idHash === idHash(ctx.keys.idHash, parsed.value.normalized);
  } else if (app?.accessCode && q.accessCode !== undefined) {
    matches = app.accessCode.hash === accessCodeHash(ctx, q.accessCode);
  }
  if (!app || !matches) throw notFound({ zh: '没有找到与该受理编号和身份证号码（或查询码）相符的申请', en: 'No application matches this number and ID number (or access code)' });
  const stage = app.stages[app.stageIndex];
  const spec = ctx.policy.type(app.type);
  return {
    number: app.number,
    type: app.type,
    typeName: spec?.names,
    status: app.status,
    resident: app.resident.nameMasked ?? maskName(app.resident.name ?? ''),
    stage: stage && !['approved', 'rejected', 'withdrawn'].includes(app.status) ? { id: stage.id, level: stage.level, name: stage.name, committedDeadline: stage.committedDeadline, provisional: stage.provisional === true } : undefined,
    caseDeadline: caseDeadline(ctx, app) ?? undefined,
    submittedAt: app.submittedAt,
    decidedAt: app.decidedAt,
    certificateSerial: app.status === 'approved' ? app.certificateSerial : undefined,
    certificateStatus: app.status === 'approved' ? await certificateStatus(ctx, app) : undefined,
  };
}

const ID_KEY = /^idNumber$/;

/** Staff screens show ID numbers inside a form as first 6 + last 4 only. */
function maskForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskForm);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, ID_KEY.test(k) && typeof v === 'string' ? maskIdForStaff(v.toUpperCase()) : maskForm(v)]),
    );
  }
  return value;
}

/**
 * What a caller sees of an application. The resident's own screens show their own data in full; a
 * kiosk's list (`listing`) shows masked ID numbers and no form, since the next villager stands at the
 * same screen. Residents and kiosks learn an officer's role, never who.
 */
export function toView(ctx: Pick<AppContext, 'keys' | 'policy'>, app: ApplicationDoc, p: Principal, listing = false) {
  const own = residentSide(p);
  const full = residentAccount(p) || (filesForResident(p) && !listing);
  const stage = app.stages[app.stageIndex];
  return {
    id: app._id.toString(),
    number: app.number ?? null,
    accessCode: full && app.accessCode ? decrypt(ctx.keys.dataKey, app.accessCode.sealed) : undefined,
    type: app.type,
    status: app.status,
    channel: app.channel,
    resident: {
      name: openName(ctx.keys.dataKey, app.resident),
      idNumber: full ? decrypt(ctx.keys.dataKey, app.resident.idNumberEnc) : app.resident.idMasked,
    },
    terminal: app.terminal ? { terminalId: app.terminal.terminalId, township: app.terminal.township, operatorName: app.terminal.operatorName, consent: app.terminal.consent } : undefined,
    form: full ? formOf(ctx, app) : own ? undefined : maskForm(formOf(ctx, app)),
    division: app.division ?? null,
    ruleSetVersion: app.ruleSetVersion ?? null,
    ground: app.ground ?? null,
    stage: stage ? { index: app.stageIndex, ...stage } : null,
    stages: app.stages,
    // A decided case keeps the flag it had (the recomputation reads open cases only); it no longer matters.
    deadlineProvisional: app.deadlineProvisional === true && isAllowed('recomputeDeadline', app.status),
    caseDeadline: caseDeadline(ctx, app),
    claim: !app.claim ? null : own ? { role: 'officer' as const, until: app.claim.until } : { officerId: app.claim.officerId, officerName: app.claim.officerName, until: app.claim.until },
    missing: app.missing ?? [],
    missingDocuments: (app.missing ?? []).map((kind) => ({ kind, name: documentName(ctx, app.type, kind) })),
    decision: app.decision ? { action: app.decision.action, reason: app.decision.reason, at: app.decision.at, by: own ? { role: app.decision.by.role } : app.decision.by } : null,
    certificateSerial: app.certificateSerial ?? null,
    documents: app.documents.map((d) => ({ id: d.id, kind: d.kind, fileName: d.fileName, mime: d.mime, size: d.size, sha256: d.sha256, uploadedAt: d.uploadedAt })),
    submittedAt: app.submittedAt ?? null,
    decidedAt: app.decidedAt ?? null,
    createdAt: app.createdAt,
    updatedAt: app.updatedAt,
  };
}

/**
 * Recounts provisional deadlines once the official schedule of their years is known (a new
 * `schemas/calendar/<year>.json` or chinese-days release). A recount can move a date later (new
 * holidays) or earlier (weekend days declared working days); the resident was promised the old date,
 * so a date never moves earlier than what was promised: the later of the two stands, and the history
 * records both. Runs at start-up and with the housekeeping; returns how many cases changed.
 */
export async function recomputeProvisionalDeadlines(ctx: Ctx & Partial<Pick<AppContext, 'logger'>>): Promise<number> {
  // Open cases are read through their slim entries (review/queue.store.ts), each application by _id:
  // this runs every minute, and the history of decided cases must not make it slower.
  const marked = await provisionalEntryIds(ctx.models);
  const loaded = await Promise.all(marked.map((id) => ctx.models.Application.findById(id, { formSealed: 0, history: 0, documents: 0 }).lean<ApplicationDoc>()));
  const open = loaded.filter((a): a is ApplicationDoc => a?.deadlineProvisional === true);
  let changed = 0;
  for (const app of open) {
    const stage = app.stages[app.stageIndex];
    if (!isAllowed('recomputeDeadline', app.status) || !stage?.enteredAt) {
      await clearProvisionalMark(ctx, app);
      continue;
    }
    const fresh = stageDeadlines(ctx, app.type, stage, new Date(stage.enteredAt), app.pausedWorkingDays);
    const later = (promised: string | undefined, counted: string): string => (promised && promised > counted ? promised : counted);
    const next: StageState = {
      ...stage,
      statutoryDeadline: later(stage.statutoryDeadline, fresh.statutoryDeadline),
      committedDeadline: later(stage.committedDeadline, fresh.committedDeadline),
      provisional: fresh.provisional,
    };
    const moved = next.statutoryDeadline !== stage.statutoryDeadline || next.committedDeadline !== stage.committedDeadline;
    if (!moved && fresh.provisional) continue;
    const stages = app.stages.map((s, i) => (i === app.stageIndex ? next : s));
    const entry = historyEntry(ctx, 'system', 'recompute-deadline', app.status, app.status, {
      stage: stage.id,
      reason: fresh.provisional ? '按已公布的节假日安排重新计算期限（部分年份仍为暂定）' : '按国务院公布的节假日安排重新计算期限（不早于已承诺的日期）',
      deadlines: {
        before: { statutory: stage.statutoryDeadline, committed: stage.committedDeadline },
        counted: { statutory: fresh.statutoryDeadline, committed: fresh.committedDeadline },
        after: { statutory: next.statutoryDeadline, committed: next.committedDeadline },
      },
    });
    try {
      await transition(ctx, app, 'recomputeDeadline', { stages, ...queueFields(next) }, entry);
      changed += 1;
    } catch (err) {
      // The case moved meanwhile (claimed, decided, withdrawn): the next sweep sees it as it is now.
      if (!(err instanceof AppError && err.code === 'conflict')) throw err;
    }
  }
  if (changed) ctx.logger?.info({ changed }, 'provisional deadlines recomputed on the official calendar');
  return changed;
}

/** Open cases whose current deadline is still provisional, for readiness and the operator. */
export async function countProvisionalDeadlines(ctx: Pick<AppContext, 'models'>): Promise<number> {
  return countProvisional(ctx.models, allowedFrom('recomputeDeadline'));
}
