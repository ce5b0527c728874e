import crypto from 'node:crypto';
import type { Request } from 'express';
import { Types, type Model } from 'mongoose';
import type { AppContext } from '../context';
import type { Authenticator, OfficerLevel, Principal, Role } from '../lib/auth';
import { ours } from '../lib/database';
import { AppError } from '../lib/errors';
import { addKey, backfillKeys, findOneByKey } from '../lib/keyindex';
import type { AccountDoc } from './accounts.model';
import { fullYears, ID_PROBLEM_MESSAGES, maskIdForStaff, parseIdNumber } from '../lib/idnumber';
import { dummyHash, hashPassword, verifyPassword } from '../lib/passwords';
import { encrypt, idHash, openName, sealName } from '../lib/personal';
import { signToken, TokenError, verifyToken } from '../lib/tokens';
import { todayInChina } from '../lib/workdays';

type Ctx = Pick<AppContext, 'config' | 'models' | 'clock' | 'keys'>;

export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  role: Role;
}

/**
 * An account holds a contract (the password) and files in the holder's own name: full civil capacity
 * at 18 (Civil Code art. 17). A reading: no rule we found names an age for online accounts.
 */
export const REGISTRATION_AGE = 18;

const invalidCredentials = (): AppError => new AppError('invalid_credentials');

const today = (ctx: Ctx): string => todayInChina(ctx.clock);

export async function registerApplicant(
  ctx: Ctx,
  input: { idNumber: string; name: string; phone: string; password: string },
): Promise<{ id: string; name: string; idMasked: string }> {
  const parsed = parseIdNumber(input.idNumber, today(ctx));
  if (!parsed.ok) {
    throw new AppError('validation_failed', undefined, [
      { path: 'idNumber', code: 'format:cn-id-number', messages: ID_PROBLEM_MESSAGES[parsed.problem] },
    ]);
  }
  if (fullYears(parsed.value.birthDate, today(ctx)) < REGISTRATION_AGE) {
    throw new AppError('validation_failed', undefined, [
      {
        path: 'idNumber',
        code: 'age',
        messages: { zh: `注册账号须年满${REGISTRATION_AGE}周岁`, en: `An account holder must be at least ${REGISTRATION_AGE} years old` },
      },
    ]);
  }
  const idNumber = parsed.value.normalized;
  const hash = idHash(ctx.keys.idHash, idNumber);
  const loginKey = `id:${hash}`;
  if (await accountByLoginKey(ctx, loginKey)) {
    throw new AppError('already_exists', { zh: '该身份证号码已注册，请直接登录', en: 'This ID number is already registered; sign in instead' });
  }
  const _id = new Types.ObjectId();
  await addKey(ctx.models, LOGIN_KEY, loginKey, _id);
  const account = await ctx.models.Account.create({
    _id,
    loginKey,
    role: 'applicant',
    ...sealName(ctx.keys.dataKey, input.name),
    idHash: hash,
    idNumberEnc: encrypt(ctx.keys.dataKey, idNumber),
    idMasked: maskIdForStaff(idNumber),
    phoneEnc: encrypt(ctx.keys.dataKey, input.phone),
    passwordHash: await hashPassword(input.password, ctx.config.passwordCostLog2),
    createdAt: ctx.clock.now(),
  });
  return { id: account._id.toString(), name: input.name.trim(), idMasked: account.idMasked ?? '' };
}

/** Key documents (lib/keyindex.ts) from a login key to its account: sign-in reads by _id only. */
export const LOGIN_KEY = 'login';

function accountByLoginKey(ctx: Pick<AppContext, 'models'>, loginKey: string): Promise<AccountDoc | null> {
  return findOneByKey<AccountDoc>(ctx.models, ctx.models.Account as unknown as Model<AccountDoc>, LOGIN_KEY, loginKey, { loginKey });
}

/** Start-up: adds the login keys missing for accounts made before these keys existed. One scan. */
export async function backfillLoginKeys(ctx: Pick<AppContext, 'models'>): Promise<number> {
  const accounts = await ctx.models.Account.find({}, { _id: 1, loginKey: 1 }).lean();
  return backfillKeys(ctx.models, LOGIN_KEY, accounts.map((a): [string, Types.ObjectId] => [a.loginKey, a._id]));
}

function issueAccessToken(ctx: Ctx, sub: string, role: Role, extra: Record<string, unknown>, ttl: number): TokenResponse {
  // `sid` names the session (sign-out ends it); `iatMs` orders it against "sign out everywhere"
  // to the millisecond, where `iat` has whole seconds only.
  const session = { sid: crypto.randomBytes(16).toString('base64url'), iatMs: ctx.clock.now().getTime() };
  const accessToken = signToken(ctx.keys.access, ctx.config.tokens, ctx.clock, { typ: 'access', sub, role, ...session, ...extra }, ttl);
  return { accessToken, tokenType: 'Bearer', expiresIn: ttl, role };
}

/** Applicants sign in with their ID number, staff with a user name; both answer alike on failure. */
export async function signIn(
  ctx: Ctx,
  input: { idNumber?: string; username?: string; password: string },
): Promise<TokenResponse> {
  const account = await checkCredentials(ctx, input);
  return issueAccessToken(ctx, account.id, account.role, {}, ctx.config.tokens.accessTtlSeconds);
}

/** The account these credentials open (the API then issues a token, the pages a cookie session). */
export async function checkCredentials(
  ctx: Ctx,
  input: { idNumber?: string; username?: string; password: string },
): Promise<{ id: string; role: Role; name: string }> {
  if ((input.idNumber === undefined) === (input.username === undefined)) {
    const messages = { zh: '请填写身份证号码或用户名（二选一）', en: 'Give either idNumber or username, not both' };
    throw new AppError('validation_failed', undefined, [{ path: 'idNumber', code: 'oneOf', messages }]);
  }
  let loginKey: string | undefined;
  if (input.idNumber !== undefined) {
    const parsed = parseIdNumber(input.idNumber, today(ctx));
    if (parsed.ok) loginKey = `id:${idHash(ctx.keys.idHash, parsed.value.normalized)}`;
  } else if (input.username !== undefined) {
    loginKey = `user:${input.username.trim().toLowerCase()}`;
  }
  const account = loginKey ? await accountByLoginKey(ctx, loginKey) : null;
  if (!account) {
    await verifyPassword(input.password, await dummyHash(ctx.config.passwordCostLog2));
    throw invalidCredentials();
  }
  const ok = await verifyPassword(input.password, account.passwordHash);
  if (!ok || account.disabled) throw invalidCredentials();
  return { id: account._id.toString(), role: account.role as Role, name: openName(ctx.keys.dataKey, account) };
}

export async function terminalToken(ctx: Ctx, input: { terminalId: string; secret: string }): Promise<TokenResponse> {
  const terminal = await checkTerminalCredentials(ctx, input);
  return issueAccessToken(ctx, terminal.terminalId, 'terminal', { township: terminal.township }, ctx.config.tokens.terminalTtlSeconds);
}

/** The terminal this credential belongs to (the API then issues a token, the kiosk pages a cookie session). */
export async function checkTerminalCredentials(ctx: Ctx, input: { terminalId: string; secret: string }): Promise<{ terminalId: string; township: string; name: string }> {
  const terminal = await ctx.models.Terminal.findOne({ terminalId: input.terminalId }).lean();
  if (!terminal) {
    await verifyPassword(input.secret, await dummyHash(ctx.config.passwordCostLog2));
    throw invalidCredentials();
  }
  const ok = await verifyPassword(input.secret, terminal.secretHash);
  if (!ok || terminal.disabled) throw invalidCredentials();
  return { terminalId: terminal.terminalId, township: terminal.township, name: terminal.name };
}

/** Verifies the bearer token and loads the live account: a disabled account stops at once. */
export function createAuthenticator(ctx: Ctx): Authenticator {
  return async (req: Request): Promise<Principal> => {
    const header = req.headers.authorization;
    if (!header) throw new AppError('unauthenticated');
    const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(header);
    if (!m) throw new AppError('invalid_token');
    let claims;
    try {
      claims = verifyToken(ctx.keys.access, ctx.config.tokens, ctx.clock, m[1]!, { typ: 'access', requireExp: true });
    } catch (err) {
      if (err instanceof TokenError) throw new AppError('invalid_token');
      throw err;
    }
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    const issuedMs = typeof claims.iatMs === 'number' ? claims.iatMs : (claims.iat ?? 0) * 1000;
    if (!sid || (await ctx.models.EndedSession.exists({ _id: sid }))) throw new AppError('invalid_token');
    const session = { id: sid, expiresAt: new Date((claims.exp ?? 0) * 1000) };
    const signedOut = (v: { tokensValidAfter?: Date | null }): boolean => !!v.tokensValidAfter && issuedMs < new Date(v.tokensValidAfter).getTime();
    if (claims.role === 'terminal') {
      const terminal = await ctx.models.Terminal.findOne({ terminalId: claims.sub }).lean();
      if (!terminal || terminal.disabled || signedOut(terminal)) throw new AppError('invalid_token');
      return { role: 'terminal', id: terminal.terminalId, name: terminal.name, channel: 'terminal', township: terminal.township, session };
    }
    if (!Types.ObjectId.isValid(claims.sub)) throw new AppError('invalid_token');
    const account = await ctx.models.Account.findById(claims.sub).lean();
    if (!account || account.disabled || account.role !== claims.role || signedOut(account)) throw new AppError('invalid_token');
    const principal: Principal = {
      role: account.role as Role,
      id: account._id.toString(),
      name: openName(ctx.keys.dataKey, account),
      channel: account.role === 'applicant' ? 'online' : 'staff',
      session,
    };
    if (account.role === 'officer') {
      principal.level = account.level as OfficerLevel;
      principal.jurisdiction = account.jurisdiction ?? [];
    }
    return principal;
  };
}

/**
 * Signing out: this session's token stops at once; with `everywhere`, every token of the account
 * (or kiosk) issued until now stops too.
 */
export async function signOut(ctx: Ctx, p: Principal, everywhere: boolean): Promise<void> {
  const now = ctx.clock.now();
  if (p.session) {
    try {
      await ctx.models.EndedSession.create({ _id: p.session.id, until: p.session.expiresAt });
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
  }
  if (!everywhere) return;
  if (p.role === 'terminal') await ctx.models.Terminal.updateOne({ terminalId: p.id }, { $set: { tokensValidAfter: now } });
  else await ctx.models.Account.updateOne({ _id: new Types.ObjectId(p.id) }, { $set: { tokensValidAfter: now } });
}

/** Ended sessions whose tokens have expired anyway are forgotten. */
export async function purgeEndedSessions(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  return (await ctx.models.EndedSession.deleteMany(ours({ until: { $lt: ctx.clock.now() } }))).deletedCount;
}

/* Staff and terminals: created by the command-line tool, never by self-registration. */

export interface StaffInput {
  username: string;
  name: string;
  password: string;
  role: 'officer' | 'admin';
  level?: OfficerLevel;
  jurisdiction?: string[];
  /** Optional: lets the review refuse cases that concern the officer personally (回避). */
  idNumber?: string;
}

export async function createStaff(ctx: Ctx, input: StaffInput): Promise<{ id: string }> {
  const username = input.username.trim().toLowerCase();
  if (!/^[a-z0-9._-]{3,40}$/.test(username)) throw new Error('user name: 3–40 of a-z 0-9 . _ -');
  if (input.password.length < 10) throw new Error('password: at least 10 characters');
  if (input.role === 'officer') {
    if (input.level !== 'township' && input.level !== 'county') throw new Error('officer level: township or county');
    if (!input.jurisdiction?.length || !input.jurisdiction.every((j) => /^\d{6}(\d{3}){0,2}$/.test(j))) {
      throw new Error('jurisdiction: one or more division codes of 6, 9 or 12 digits');
    }
  }
  let ownIdHash: string | undefined;
  if (input.idNumber !== undefined) {
    const parsed = parseIdNumber(input.idNumber, today(ctx));
    if (!parsed.ok) throw new Error(`ID number: ${ID_PROBLEM_MESSAGES[parsed.problem].en}`);
    ownIdHash = idHash(ctx.keys.idHash, parsed.value.normalized);
  }
  const _id = new Types.ObjectId();
  await addKey(ctx.models, LOGIN_KEY, `user:${username}`, _id);
  const account = await ctx.models.Account.create({
    _id,
    loginKey: `user:${username}`,
    idHash: ownIdHash,
    role: input.role,
    username,
    name: input.name,
    passwordHash: await hashPassword(input.password, ctx.config.passwordCostLog2),
    level: input.role === 'officer' ? input.level : undefined,
    jurisdiction: input.role === 'officer' ? input.jurisdiction : undefined,
    createdAt: ctx.clock.now(),
  });
  return { id: account._id.toString() };
}

export async function createTerminal(
  ctx: Ctx,
  input: { name: string; township: string; terminalId?: string; secret?: string },
): Promise<{ terminalId: string; secret: string }> {
  if (!/^\d{9}$/.test(input.township)) throw new Error('township: a 9-digit township division code, e.g. 430725101');
  const terminalId = input.terminalId ?? `T${input.township}-${crypto.randomBytes(3).toString('hex').toUpperCase()}`;
  const secret = input.secret ?? crypto.randomBytes(24).toString('base64url');
  await ctx.models.Terminal.create({
    terminalId,
    name: input.name,
    township: input.township,
    secretHash: await hashPassword(secret, ctx.config.passwordCostLog2),
    createdAt: ctx.clock.now(),
  });
  return { terminalId, secret };
}

export async function setDisabled(ctx: Ctx, who: { username?: string; terminalId?: string; idNumber?: string }, disabled: boolean): Promise<boolean> {
  if (who.terminalId) {
    const r = await ctx.models.Terminal.updateOne({ terminalId: who.terminalId }, { $set: { disabled } });
    return r.matchedCount === 1;
  }
  let loginKey: string | undefined;
  if (who.username) loginKey = `user:${who.username.trim().toLowerCase()}`;
  if (who.idNumber) {
    const parsed = parseIdNumber(who.idNumber, today(ctx));
    if (parsed.ok) loginKey = `id:${idHash(ctx.keys.idHash, parsed.value.normalized)}`;
  }
  const account = loginKey ? await accountByLoginKey(ctx, loginKey) : null;
  if (!account) return false;
  const r = await ctx.models.Account.updateOne({ _id: account._id, loginKey }, { $set: { disabled } });
  return r.matchedCount === 1;
}
