import crypto from 'node:crypto';
import { Types } from 'mongoose';
import type { AppContext } from '../context';
import type { OfficerLevel, Principal } from '../lib/auth';
import { AppError, notFound, type FieldProblem } from '../lib/errors';
import { hashPassword } from '../lib/passwords';
import { township as townshipOf } from '../divisions/divisions';
import { createStaff, createTerminal, setDisabled } from './accounts.service';
import { staffAccounts } from './accounts.store';
import { COMMAND_LINE, type AdminAction, type AdminActor, type AdminLogDoc } from './adminlog.model';

export { COMMAND_LINE, type AdminAction, type AdminActor, type AdminLogDoc };

/**
 * Administration of staff accounts and kiosk terminals: the command-line tool and the admin pages
 * call these, and every change is written to the administration log (`admin_log`) with who made it,
 * when, what and to whom. A credential (password, terminal secret) is never logged, never stored in
 * clear, and shown once: to the admin who made it.
 */

type Ctx = Pick<AppContext, 'config' | 'models' | 'clock' | 'keys'>;

export const actorOfAdmin = (p: Principal): AdminActor => ({ id: p.id, role: p.role, name: p.name });

async function log(ctx: Ctx, actor: AdminActor, action: AdminAction, target: AdminLogDoc['target'], detail?: string): Promise<void> {
  await ctx.models.AdminLog.create({ at: ctx.clock.now(), actor, action, target, ...(detail ? { detail } : {}) });
}

/** The latest changes first. */
export async function adminLog(ctx: Pick<AppContext, 'models'>, limit = 50): Promise<AdminLogDoc[]> {
  return ctx.models.AdminLog.find({}).sort({ at: -1, _id: -1 }).limit(limit).lean<AdminLogDoc[]>();
}

export interface StaffRow {
  id: string;
  username: string;
  name: string;
  role: 'officer' | 'admin';
  level: OfficerLevel | null;
  jurisdiction: string[];
  disabled: boolean;
  createdAt: Date;
}

export interface TerminalRow {
  terminalId: string;
  name: string;
  township: string;
  disabled: boolean;
  createdAt: Date;
}

/** Officers, admins and terminals, by user name and terminal id; never a hash. */
export async function listAccounts(ctx: Pick<AppContext, 'models'>): Promise<{ staff: StaffRow[]; terminals: TerminalRow[] }> {
  // By user name in code-point order, as the database sorted it.
  const byName = (a: { username?: string | null }, b: { username?: string | null }): number => ((a.username ?? '') < (b.username ?? '') ? -1 : (a.username ?? '') > (b.username ?? '') ? 1 : 0);
  const staff = (await staffAccounts(ctx)).sort(byName);
  const terminals = await ctx.models.Terminal.find({}, { secretHash: 0 }).sort({ terminalId: 1 }).lean();
  return {
    staff: staff.map((a) => ({
      id: a._id.toString(),
      username: a.username ?? '',
      name: a.name ?? '',
      role: a.role as 'officer' | 'admin',
      level: (a.level as OfficerLevel | undefined) ?? null,
      jurisdiction: a.jurisdiction ?? [],
      disabled: a.disabled,
      createdAt: a.createdAt,
    })),
    terminals: terminals.map((t) => ({ terminalId: t.terminalId, name: t.name, township: t.township, disabled: t.disabled, createdAt: t.createdAt })),
  };
}

const problem = (path: string, zh: string, en: string): FieldProblem => ({ path, code: 'invalid', messages: { zh, en } });
const refuse = (problems: FieldProblem[]): never => {
  throw new AppError('validation_failed', undefined, problems);
};

const USERNAME = /^[a-z0-9._-]{3,40}$/;
const JURISDICTION = /^\d{6}(\d{3}){0,2}$/;

/** A jurisdiction as typed: codes separated by commas, spaces or 、; each 6, 9 or 12 digits. */
export function parseJurisdiction(text: string): string[] {
  return [...new Set(text.split(/[\s,，、]+/).map((s) => s.trim()).filter(Boolean))];
}

function checkOfficer(level: string | undefined, jurisdiction: string[], problems: FieldProblem[]): void {
  if (level !== 'township' && level !== 'county') problems.push(problem('level', '请选择审批层级（乡镇或县级）', 'Choose the level: township or county'));
  if (jurisdiction.length === 0) problems.push(problem('jurisdiction', '请填写管辖区划代码', 'Enter the jurisdiction: one or more division codes'));
  else if (!jurisdiction.every((j) => JURISDICTION.test(j))) problems.push(problem('jurisdiction', '管辖区划代码应为 6、9 或 12 位数字', 'Each division code has 6, 9 or 12 digits'));
}

/** A one-time secret: 16 characters a person can copy, shown once. */
const newSecret = (): string => crypto.randomBytes(12).toString('base64url');

export interface NewStaff {
  username: string;
  name: string;
  role: 'officer' | 'admin';
  level?: string;
  jurisdiction?: string[];
  /** Given: used (the command line's --password); otherwise one is made and returned once. */
  password?: string;
  idNumber?: string;
}

export async function addStaff(ctx: Ctx, actor: AdminActor, input: NewStaff): Promise<{ id: string; username: string; password: string; generated: boolean }> {
  const username = input.username.trim().toLowerCase();
  const name = input.name.trim();
  const problems: FieldProblem[] = [];
  if (!USERNAME.test(username)) problems.push(problem('username', '用户名为 3–40 位小写字母、数字或 . _ -', 'User name: 3–40 of a–z, 0–9, . _ -'));
  if (!name || name.length > 40) problems.push(problem('name', '请填写姓名（不超过 40 字）', 'Enter the name (at most 40 characters)'));
  if (input.role !== 'officer' && input.role !== 'admin') problems.push(problem('role', '请选择角色', 'Choose the role'));
  if (input.role === 'officer') checkOfficer(input.level, input.jurisdiction ?? [], problems);
  if (input.password !== undefined && input.password.length < 10) problems.push(problem('password', '密码至少 10 位', 'The password needs at least 10 characters'));
  if (problems.length) refuse(problems);
  const generated = input.password === undefined;
  const password = input.password ?? newSecret();
  let id: string;
  try {
    ({ id } = await createStaff(ctx, {
      username,
      name,
      password,
      role: input.role,
      ...(input.role === 'officer' ? { level: input.level as OfficerLevel, jurisdiction: input.jurisdiction } : {}),
      ...(input.idNumber ? { idNumber: input.idNumber } : {}),
    }));
  } catch (err) {
    if ((err as { code?: number }).code === 11000) refuse([problem('username', '该用户名已被使用', 'That user name is taken')]);
    throw err;
  }
  const scope = input.role === 'officer' ? `${input.level}: ${(input.jurisdiction ?? []).join(',')}` : 'admin';
  await log(ctx, actor, 'create', { kind: 'staff', id, label: username }, `${name} (${scope})`);
  return { id, username, password, generated };
}

export async function addTerminal(ctx: Ctx, actor: AdminActor, input: { township: string; name: string }): Promise<{ terminalId: string; secret: string }> {
  const name = input.name.trim();
  const problems: FieldProblem[] = [];
  if (!/^\d{9}$/.test(input.township) || !townshipOf(input.township)) problems.push(problem('township', '请选择终端所在的乡镇', 'Choose the township where the terminal stands'));
  if (!name || name.length > 60) problems.push(problem('name', '请填写终端名称（不超过 60 字）', 'Enter the terminal’s name (at most 60 characters)'));
  if (problems.length) refuse(problems);
  const created = await createTerminal(ctx, { township: input.township, name });
  await log(ctx, actor, 'create', { kind: 'terminal', id: created.terminalId, label: created.terminalId }, `${name} (${input.township})`);
  return created;
}

const missingAccount = () => notFound({ zh: '未找到该账号或终端', en: 'No such account or terminal' });

async function staffById(ctx: Ctx, id: string) {
  if (!Types.ObjectId.isValid(id)) throw missingAccount();
  const account = await ctx.models.Account.findById(new Types.ObjectId(id), { passwordHash: 0 }).lean();
  if (!account || (account.role !== 'officer' && account.role !== 'admin')) throw missingAccount();
  return account;
}

export type Target = { kind: 'staff'; id: string } | { kind: 'terminal'; terminalId: string };

/**
 * Disables (or enables) a staff account or a terminal: its tokens and page sessions stop at the
 * next request. An admin cannot disable their own account (the county would be left without one).
 */
export async function setEnabled(ctx: Ctx, actor: AdminActor, target: Target, enabled: boolean): Promise<void> {
  if (target.kind === 'terminal') {
    if (!(await setDisabled(ctx, { terminalId: target.terminalId }, !enabled))) throw missingAccount();
    await log(ctx, actor, enabled ? 'enable' : 'disable', { kind: 'terminal', id: target.terminalId, label: target.terminalId });
    return;
  }
  const account = await staffById(ctx, target.id);
  if (!enabled && target.id === actor.id) throw new AppError('conflict', { zh: '不能停用自己的账号', en: 'You cannot disable your own account' });
  if (!(await setDisabled(ctx, { username: account.username ?? '' }, !enabled))) throw missingAccount();
  await log(ctx, actor, enabled ? 'enable' : 'disable', { kind: 'staff', id: target.id, label: account.username ?? '' });
}

/**
 * A new password (staff) or secret (terminal), made here and returned once; every token and page
 * session issued before it stops.
 */
export async function resetCredential(ctx: Ctx, actor: AdminActor, target: Target): Promise<{ label: string; secret: string }> {
  const secret = newSecret();
  const hash = await hashPassword(secret, ctx.config.passwordCostLog2);
  const now = ctx.clock.now();
  if (target.kind === 'terminal') {
    const r = await ctx.models.Terminal.updateOne({ terminalId: target.terminalId }, { $set: { secretHash: hash, tokensValidAfter: now } });
    if (r.matchedCount !== 1) throw missingAccount();
    await log(ctx, actor, 'reset-credential', { kind: 'terminal', id: target.terminalId, label: target.terminalId });
    return { label: target.terminalId, secret };
  }
  const account = await staffById(ctx, target.id);
  await ctx.models.Account.updateOne({ _id: account._id }, { $set: { passwordHash: hash, tokensValidAfter: now } });
  await log(ctx, actor, 'reset-credential', { kind: 'staff', id: target.id, label: account.username ?? '' });
  return { label: account.username ?? '', secret };
}

/** An officer's level and jurisdiction; a terminal's township. Open sessions see the change at their next request. */
export async function setJurisdiction(ctx: Ctx, actor: AdminActor, target: Target, input: { level?: string; jurisdiction?: string[]; township?: string }): Promise<void> {
  if (target.kind === 'terminal') {
    const code = input.township ?? '';
    if (!/^\d{9}$/.test(code) || !townshipOf(code)) refuse([problem('township', '请选择终端所在的乡镇', 'Choose the township where the terminal stands')]);
    const before = await ctx.models.Terminal.findOneAndUpdate({ terminalId: target.terminalId }, { $set: { township: code } }).lean();
    if (!before) throw missingAccount();
    await log(ctx, actor, 'set-jurisdiction', { kind: 'terminal', id: target.terminalId, label: target.terminalId }, `${before.township} → ${code}`);
    return;
  }
  const account = await staffById(ctx, target.id);
  if (account.role !== 'officer') throw new AppError('conflict', { zh: '管理员不设管辖范围', en: 'An admin has no jurisdiction to set' });
  const jurisdiction = input.jurisdiction ?? [];
  const problems: FieldProblem[] = [];
  checkOfficer(input.level, jurisdiction, problems);
  if (problems.length) refuse(problems);
  await ctx.models.Account.updateOne({ _id: account._id }, { $set: { level: input.level, jurisdiction } });
  const was = `${account.level ?? ''}: ${(account.jurisdiction ?? []).join(',')}`;
  await log(ctx, actor, 'set-jurisdiction', { kind: 'staff', id: target.id, label: account.username ?? '' }, `${was} → ${input.level}: ${jurisdiction.join(',')}`);
}
