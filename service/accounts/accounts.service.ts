import crypto from 'node:crypto';
import type { Request } from 'express';
import { Types } from 'mongoose';
import type { AppContext } from '../context';
import type { Authenticator, OfficerLevel, Principal, Role } from '../lib/auth';
import { AppError } from '../lib/errors';
import type { LoginInput, PasswordResetInput, PhoneCodeInput, RegisterInput, TerminalTokenInput } from './accounts.schemas';
import { accountByLoginKey, deleteExpiredEndedSessions, insertAccount } from './accounts.store';
import { fullYears, ID_PROBLEM_MESSAGES, maskIdForStaff, parseIdNumber } from '../lib/idnumber';
import { dummyHash, hashPassword, verifyPassword } from '../lib/passwords';
import { decrypt, encrypt, idHash, openName, sealName } from '../lib/personal';
import { signToken, TokenError, verifyToken } from '../lib/tokens';
import { todayInChina } from '../lib/workdays';
import { consumeCode, invalidCode, issueCode, purgePhoneCodes, withdrawCode, type CodePurpose } from './phone-codes';

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

/** What registration answers, whether or not the ID number already had an account. */
export const REGISTRATION_ACCEPTED = {
  zh: '注册申请已受理。如该身份证号码此前未注册，现在即可用身份证号码和密码登录；如已注册，我们已向该账号登记的手机发送短信。',
  en: 'Registration received. If this ID number had no account, you can now sign in with it and your password; if it had one, its phone on record has been sent a message.',
};

type DeliverCtx = Ctx & Pick<AppContext, 'notifier' | 'logger'>;

/** Sends one text message straight to a phone (not through the outbox: it would have to keep the number). */
async function sendDirect(ctx: DeliverCtx, phone: string, key: string, text: string): Promise<void> {
  await ctx.notifier.deliver({ key, recipient: { phone }, text });
}

/** After the answer has gone: how long it takes, or whether it fails, must not tell the caller anything. */
function sendLater(ctx: DeliverCtx, phone: string, key: string, text: string): void {
  setImmediate(() => {
    sendDirect(ctx, phone, key, text).catch((err: unknown) => ctx.logger.warn({ err: String(err), notification: key }, 'could not send a text message'));
  });
}

const codeText = (code: string, purpose: CodePurpose): string =>
  purpose === 'register'
    ? `【计生证件办理】您的注册验证码：${code}，10 分钟内有效。如非本人操作，请忽略本短信。`
    : `【计生证件办理】您正在重置登录密码，验证码：${code}，10 分钟内有效。如非本人操作，请勿告诉他人。`;

function parseOrThrow(ctx: Ctx, raw: string, path = 'idNumber') {
  const parsed = parseIdNumber(raw, today(ctx));
  if (!parsed.ok) throw new AppError('validation_failed', undefined, [{ path, code: 'format:cn-id-number', messages: ID_PROBLEM_MESSAGES[parsed.problem] }]);
  return parsed.value;
}

const loginKeyOfId = (ctx: Ctx, idNumber: string): string => `id:${idHash(ctx.keys.idHash, idNumber)}`;

/**
 * Sends a one-time code. Registration: to the number being registered (awaited: the resident must
 * know if it did not go). Reset: to the phone on record of the account of that ID number, after the
 * answer, and the answer is the same when there is no such account.
 */
export async function requestPhoneCode(ctx: DeliverCtx, input: PhoneCodeInput): Promise<void> {
  if (input.purpose === 'register') {
    if (!input.phone) throw new AppError('validation_failed', undefined, [{ path: 'phone', code: 'required', messages: { zh: '请填写手机号码', en: 'phone is required' } }]);
    const code = await issueCode(ctx, 'register', input.phone);
    try {
      await sendDirect(ctx, input.phone, `code:${crypto.randomUUID()}`, codeText(code, 'register'));
    } catch (err) {
      await withdrawCode(ctx, 'register', input.phone);
      ctx.logger.warn({ err: String(err) }, 'could not send a registration code');
      throw new AppError('sms_unavailable');
    }
    return;
  }
  if (!input.idNumber) throw new AppError('validation_failed', undefined, [{ path: 'idNumber', code: 'required', messages: { zh: '请填写身份证号码', en: 'idNumber is required' } }]);
  const loginKey = loginKeyOfId(ctx, parseOrThrow(ctx, input.idNumber).normalized);
  // The limit and the record exist for any ID number, so an unknown one looks like a known one.
  const code = await issueCode(ctx, 'reset', loginKey);
  const account = await accountByLoginKey(ctx, loginKey);
  if (account?.role === 'applicant' && account.phoneEnc && !account.disabled) sendLater(ctx, decrypt(ctx.keys.dataKey, account.phoneEnc), `code:${crypto.randomUUID()}`, codeText(code, 'reset'));
}

/**
 * Registers a resident whose phone answered a code. The answer is the same whether or not the ID
 * number already has an account, and so is the work (the password is hashed either way); the real
 * owner hears of the attempt on the phone on record.
 */
export async function registerApplicant(ctx: DeliverCtx, input: RegisterInput): Promise<void> {
  const { normalized: idNumber, birthDate } = parseOrThrow(ctx, input.idNumber);
  if (fullYears(birthDate, today(ctx)) < REGISTRATION_AGE) {
    throw new AppError('validation_failed', undefined, [
      {
        path: 'idNumber',
        code: 'age',
        messages: { zh: `注册账号须年满${REGISTRATION_AGE}周岁`, en: `An account holder must be at least ${REGISTRATION_AGE} years old` },
      },
    ]);
  }
  if (!(await consumeCode(ctx, 'register', input.phone, input.code))) throw invalidCode();
  const hash = idHash(ctx.keys.idHash, idNumber);
  const passwordHash = await hashPassword(input.password, ctx.config.passwordCostLog2);
  const loginKey = `id:${hash}`;
  try {
    await insertAccount(ctx, {
      _id: new Types.ObjectId(),
      loginKey,
      role: 'applicant',
      ...sealName(ctx.keys.dataKey, input.name),
      idHash: hash,
      idNumberEnc: encrypt(ctx.keys.dataKey, idNumber),
      idMasked: maskIdForStaff(idNumber),
      phoneEnc: encrypt(ctx.keys.dataKey, input.phone),
      passwordHash,
      createdAt: ctx.clock.now(),
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    const owner = await accountByLoginKey(ctx, loginKey);
    if (owner?.phoneEnc) {
      sendLater(ctx, decrypt(ctx.keys.dataKey, owner.phoneEnc), `register-attempt:${crypto.randomUUID()}`,
        '【计生证件办理】有人尝试用您的身份证号码注册账号，您的账号未受影响。如是您本人且忘记密码，请在登录页用短信验证码重置密码；如非本人操作，请忽略本短信。');
    }
  }
}

/** A new password for the account whose phone on record received the code; every session ends. */
export async function resetPassword(ctx: Ctx, input: PasswordResetInput): Promise<void> {
  const loginKey = loginKeyOfId(ctx, parseOrThrow(ctx, input.idNumber).normalized);
  if (!(await consumeCode(ctx, 'reset', loginKey, input.code))) throw invalidCode();
  const passwordHash = await hashPassword(input.password, ctx.config.passwordCostLog2);
  const account = await accountByLoginKey(ctx, loginKey);
  if (!account || account.role !== 'applicant') throw invalidCode();
  await ctx.models.Account.updateOne({ _id: account._id }, { $set: { passwordHash, tokensValidAfter: ctx.clock.now() } });
}

function issueAccessToken(ctx: Ctx, sub: string, role: Role, extra: Record<string, unknown>, ttl: number): TokenResponse {
  // `sid` names the session (sign-out ends it); `iatMs` orders it against "sign out everywhere"
  // to the millisecond, where `iat` has whole seconds only.
  const session = { sid: crypto.randomBytes(16).toString('base64url'), iatMs: ctx.clock.now().getTime() };
  const accessToken = signToken(ctx.keys.access, ctx.config.tokens, ctx.clock, { typ: 'access', sub, role, ...session, ...extra }, ttl);
  return { accessToken, tokenType: 'Bearer', expiresIn: ttl, role };
}

/** Applicants sign in with their ID number, staff with a user name; both answer alike on failure. */
export async function signIn(ctx: Ctx, input: LoginInput): Promise<TokenResponse> {
  const account = await checkCredentials(ctx, input);
  return issueAccessToken(ctx, account.id, account.role, {}, ctx.config.tokens.accessTtlSeconds);
}

/** The account these credentials open (the API then issues a token, the pages a cookie session). */
export async function checkCredentials(ctx: Ctx, input: LoginInput): Promise<{ id: string; role: Role; name: string }> {
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

export async function terminalToken(ctx: Ctx, input: TerminalTokenInput): Promise<TokenResponse> {
  const terminal = await checkTerminalCredentials(ctx, input);
  return issueAccessToken(ctx, terminal.terminalId, 'terminal', { township: terminal.township }, ctx.config.tokens.terminalTtlSeconds);
}

/** The terminal this credential belongs to (the API then issues a token, the kiosk pages a cookie session). */
export async function checkTerminalCredentials(ctx: Ctx, input: TerminalTokenInput): Promise<{ terminalId: string; township: string; name: string }> {
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
    if (account.role === 'applicant' && account.idHash) principal.idHash = account.idHash;
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

/** Ended sessions whose tokens have expired anyway are forgotten, and so are spent one-time codes. */
export async function purgeEndedSessions(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  return (await deleteExpiredEndedSessions(ctx)) + (await purgePhoneCodes(ctx));
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
  await insertAccount(ctx, {
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
  return { id: _id.toString() };
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
