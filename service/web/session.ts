import crypto from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { AppContext } from '../context';
import type { Principal } from '../lib/auth';
import { AppError } from '../lib/errors';
import { openName } from '../lib/personal';
import type { KioskResident, WebSessionDoc } from './session.model';
import { deleteSessionsIdleSince } from './session.store';

/**
 * Cookie sessions for pages. The cookie carries a random id only; the session lives in the database
 * under the id's SHA-256, so signing out, idle expiry and a disabled account stop it at once, and a
 * copy of the database holds nothing that opens a session. Bearer tokens stay for API clients.
 */
export const SESSION_COOKIE = '__Host-fpc-session';
/** Before sign-in, forms are bound to this random value (CSRF), so a login form cannot be forged either. */
export const ANON_COOKIE = '__Host-fpc-anon';
export const LANG_COOKIE = '__Host-fpc-lang';

/** A kiosk's terminal sign-in lasts a working day; the resident being served much less (kioskIdleSeconds). */
const TERMINAL_SESSION_MS = 12 * 3600 * 1000;

type Ctx = Pick<AppContext, 'models' | 'clock' | 'config' | 'keys'>;

const digest = (rawId: string): string => crypto.createHash('sha256').update(rawId).digest('base64url');

export function parseCookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (name && !(name in out) && /^[A-Za-z0-9_-]{1,200}$/.test(value)) out[name] = value;
  }
  return out;
}

/** `__Host-` cookies: Secure, Path=/, no Domain; HttpOnly and SameSite=Lax for all of ours. */
export function setCookie(res: Response, name: string, value: string, maxAgeSeconds?: number): void {
  res.append(
    'Set-Cookie',
    `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax${maxAgeSeconds === undefined ? '' : `; Max-Age=${maxAgeSeconds}`}`,
  );
}

export interface PageSession {
  doc: WebSessionDoc;
  principal: Principal;
  /** The raw id from the cookie: CSRF tokens are bound to it. */
  rawId: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    page?: {
      session?: PageSession;
      /** What CSRF tokens are bound to: the session, else the anonymous cookie (made when a form first needs it). */
      csrfBase?: string;
      kioskReset?: boolean;
      res?: Response;
    };
  }
}

function expired(ctx: Ctx, doc: WebSessionDoc, now: Date): boolean {
  if (doc.kind === 'kiosk') return now.getTime() - new Date(doc.createdAt).getTime() > TERMINAL_SESSION_MS;
  return now.getTime() - new Date(doc.lastSeenAt).getTime() > ctx.config.webSessionIdleSeconds * 1000;
}

/** "Sign out everywhere" (API) ends page sessions begun before it too. */
const signedOutSince = (v: { tokensValidAfter?: Date | null }, doc: WebSessionDoc): boolean =>
  !!v.tokensValidAfter && new Date(doc.createdAt).getTime() < new Date(v.tokensValidAfter).getTime();

async function principalFor(ctx: Ctx, doc: WebSessionDoc): Promise<Principal | undefined> {
  if (doc.kind === 'kiosk') {
    const terminal = await ctx.models.Terminal.findOne({ terminalId: doc.subject }).lean();
    if (!terminal || terminal.disabled || signedOutSince(terminal, doc)) return undefined;
    return { role: 'terminal', id: terminal.terminalId, name: terminal.name, channel: 'terminal', township: terminal.township };
  }
  const account = await ctx.models.Account.findById(doc.subject).lean();
  if (!account || account.disabled || signedOutSince(account, doc)) return undefined;
  // A session's kind is fixed at sign-in: a resident cookie never opens staff pages, nor the reverse.
  if (doc.kind === 'staff') {
    if (account.role !== 'officer' && account.role !== 'admin') return undefined;
    const staff: Principal = { role: account.role, id: account._id.toString(), name: openName(ctx.keys.dataKey, account), channel: 'staff' };
    if (account.role === 'officer') {
      staff.level = account.level as Principal['level'];
      staff.jurisdiction = account.jurisdiction ?? [];
    }
    return staff;
  }
  if (account.role !== 'applicant') return undefined;
  // The ID number's keyed hash, as for a bearer token: the cases a kiosk filed for this resident are theirs too.
  return { role: 'applicant', id: account._id.toString(), name: openName(ctx.keys.dataKey, account), channel: 'online', ...(account.idHash ? { idHash: account.idHash } : {}) };
}

/**
 * Loads the page session (if any) and the CSRF base of every request. A kiosk whose resident was
 * idle longer than the limit loses the resident here, whatever the browser did (scripts off, tab
 * left open): the next page starts again.
 */
export function sessions(ctx: Ctx): RequestHandler {
  return async (req, res, next) => {
    const cookies = parseCookies(req);
    const rawId = cookies[SESSION_COOKIE];
    const now = ctx.clock.now();
    let session: PageSession | undefined;
    let kioskReset = false;
    if (rawId) {
      const doc = await ctx.models.WebSession.findById(digest(rawId)).lean<WebSessionDoc>();
      const principal = doc && !expired(ctx, doc, now) ? await principalFor(ctx, doc) : undefined;
      if (doc && principal) {
        const set: Record<string, unknown> = { lastSeenAt: now };
        if (doc.kioskResident) {
          const seen = new Date(doc.residentSeenAt ?? doc.lastSeenAt).getTime();
          if (now.getTime() - seen > ctx.config.kioskIdleSeconds * 1000) {
            set.kioskResident = null;
            doc.kioskResident = null;
            kioskReset = true;
          } else {
            set.residentSeenAt = now;
          }
        }
        await ctx.models.WebSession.updateOne({ _id: doc._id }, { $set: set });
        session = { doc, principal, rawId };
      } else {
        if (doc) await ctx.models.WebSession.deleteOne({ _id: doc._id });
        setCookie(res, SESSION_COOKIE, '', 0);
      }
    }
    const anon = cookies[ANON_COOKIE];
    const csrfBase = session ? `s:${session.rawId}` : anon && anon.length >= 20 ? `a:${anon}` : undefined;
    req.page = { session, csrfBase, kioskReset, res };
    next();
  };
}

/** Starts a new session (a fresh id at every sign-in: a planted cookie never becomes a signed-in one). */
export async function startSession(ctx: Ctx, res: Response, fields: Pick<WebSessionDoc, 'kind' | 'subject' | 'operatorName'>): Promise<void> {
  const rawId = crypto.randomBytes(32).toString('base64url');
  const now = ctx.clock.now();
  await ctx.models.WebSession.create({ _id: digest(rawId), ...fields, kioskResident: null, createdAt: now, lastSeenAt: now });
  setCookie(res, SESSION_COOKIE, rawId);
}

export async function endSession(ctx: Ctx, req: Request, res: Response): Promise<void> {
  const s = req.page?.session;
  if (s) await ctx.models.WebSession.deleteOne({ _id: s.doc._id });
  setCookie(res, SESSION_COOKIE, '', 0);
  // The browser forgets this origin's cached pages and cookies: the next person at this screen
  // cannot page back into what was shown.
  res.setHeader('Clear-Site-Data', '"cache", "cookies", "storage"');
}

export async function updateKioskResident(ctx: Ctx, req: Request, resident: KioskResident | null): Promise<void> {
  const s = req.page?.session;
  if (!s) throw new AppError('unauthenticated');
  await ctx.models.WebSession.updateOne({ _id: s.doc._id }, { $set: { kioskResident: resident, residentSeenAt: ctx.clock.now() } });
  s.doc.kioskResident = resident;
}

/** Removes sessions idle past the longest limit (housekeeping; FerretDB has no TTL indexes). */
export async function purgeWebSessions(ctx: Pick<AppContext, 'models' | 'clock' | 'config'>): Promise<number> {
  const idle = Math.max(ctx.config.webSessionIdleSeconds * 1000, TERMINAL_SESSION_MS);
  const cutoff = new Date(ctx.clock.now().getTime() - idle);
  return deleteSessionsIdleSince(ctx, cutoff);
}

/* CSRF: a token per session (or per anonymous visitor), an HMAC the server can recompute. */

const csrfKeys = new WeakMap<Buffer, Buffer>();
function csrfKey(ctx: Pick<AppContext, 'keys'>): Buffer {
  let key = csrfKeys.get(ctx.keys.dataKey);
  if (!key) {
    key = crypto.createHmac('sha256', ctx.keys.dataKey).update('web-csrf-v1').digest();
    csrfKeys.set(ctx.keys.dataKey, key);
  }
  return key;
}

const tokenFor = (ctx: Pick<AppContext, 'keys'>, base: string): string => crypto.createHmac('sha256', csrfKey(ctx)).update(base).digest('base64url');

/**
 * Random ids for anonymous visitors, cut from a pool filled by the CSPRNG 4 kB at a time (as Node
 * does for randomUUID): every first visit to a form page needs one, and one system call per
 * visitor was a visible share of serving such a page.
 */
let pool = Buffer.alloc(0);
let poolAt = 0;
function randomId(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = crypto.randomBytes(4096);
    poolAt = 0;
  }
  const id = pool.subarray(poolAt, poolAt + bytes).toString('base64url');
  poolAt += bytes;
  return id;
}

/** The token for this visitor's forms; a visitor without a session gets the anonymous cookie now. */
export function csrfToken(ctx: Pick<AppContext, 'keys'>, req: Request): string {
  const page = req.page;
  if (!page) return '';
  if (!page.csrfBase) {
    const anon = randomId(24);
    if (page.res && !page.res.headersSent) setCookie(page.res, ANON_COOKIE, anon);
    page.csrfBase = `a:${anon}`;
  }
  return tokenFor(ctx, page.csrfBase);
}

export function checkCsrf(ctx: Pick<AppContext, 'keys'>, req: Request, sent: unknown): void {
  const base = req.page?.csrfBase;
  const expected = Buffer.from(base ? tokenFor(ctx, base) : 'no form was served to this visitor');
  const got = Buffer.from(typeof sent === 'string' ? sent : '');
  if (!base || got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) {
    throw new AppError('forbidden', {
      zh: '页面已过期或来源不明，请返回上一页刷新后重新提交',
      en: 'This form has expired or did not come from this site; go back, reload the page and submit again',
    }, undefined, { csrf: true });
  }
}
