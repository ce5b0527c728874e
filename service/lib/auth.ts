import type { Request, RequestHandler } from 'express';
import { AppError } from './errors';

export type Role = 'applicant' | 'terminal' | 'officer' | 'admin';
export type OfficerLevel = 'township' | 'county';
export type Channel = 'online' | 'terminal' | 'staff';

/** Who is calling, established from a verified token and a live account. */
export interface Principal {
  role: Role;
  /** Account id, or terminal id for terminals. */
  id: string;
  name: string;
  channel: Channel;
  /** Officers: which stage they work. */
  level?: OfficerLevel;
  /** Officers: division-code prefixes they may see. Admins see everything. */
  jurisdiction?: string[];
  /** Applicants: the keyed hash of their ID number (kiosk cases filed for them are theirs too). */
  idHash?: string;
  /** Terminals: the township they stand in. */
  township?: string;
  /** The signed-in session the token belongs to, so that signing out can end it. */
  session?: { id: string; expiresAt: Date };
}

/**
 * Roles → rights: the one table that says who may do what. Routes name the right they need; the
 * services ask the access module (`access.ts`), which expresses its scope filters and object checks
 * (is this my application, is it in my jurisdiction) through these rights, never through role names.
 * `test/access.test.ts` pins the table and checks that every right is used.
 */
export const RIGHTS = {
  'application:file': ['applicant', 'terminal'],
  /** A kiosk files on a resident's behalf (name, ID number, consent), and sees what it filed lately. */
  'application:file-for-resident': ['terminal'],
  'application:read-own': ['applicant', 'terminal'],
  /** Reads other people's submitted cases inside a jurisdiction; the reads are logged. */
  'application:read-any': ['officer', 'admin'],
  'certificate:read-own': ['applicant'],
  'complaint:file': ['applicant', 'terminal'],
  'queue:read': ['officer', 'admin'],
  'application:review': ['officer', 'admin'],
  /** Claims a case and decides it (approve, return, reject). */
  'application:decide': ['officer'],
  /** Ends another officer's claim. */
  'claim:break': ['admin'],
  /** Acts on the whole county whatever the jurisdiction: every queue, case and complaint, and revokes any certificate issued in the county. */
  'jurisdiction:all': ['admin'],
  'certificate:read-any': ['officer', 'admin'],
  'certificate:revoke': ['officer', 'admin'],
  'stats:read': ['officer', 'admin'],
  'complaint:answer': ['officer', 'admin'],
  'rating:give': ['applicant', 'terminal'],
  'rating:follow-up': ['officer', 'admin'],
  'audit:read': ['admin'],
  /** Creates, disables and resets staff accounts and kiosk terminals (the administration pages). */
  'account:manage': ['admin'],
  'application:search': ['officer', 'admin'],
  'ledger:read': ['officer', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Right = keyof typeof RIGHTS;

/** Does an account of this role hold the right (before any principal exists: which sign-in page is whose)? */
export function roleHolds(role: Role, right: Right): boolean {
  return (RIGHTS[right] as readonly Role[]).includes(role);
}

export function can(principal: Principal, right: Right): boolean {
  return roleHolds(principal.role, right);
}

export type Authenticator = (req: Request) => Promise<Principal>;

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** 401 without a valid token, 403 when the role lacks the right. */
export function requireRight(authenticate: Authenticator, right: Right | 'any'): RequestHandler {
  return async (req, res, next) => {
    const principal = await authenticate(req);
    req.principal = principal;
    res.setHeader('Cache-Control', 'no-store');
    if (right !== 'any' && !can(principal, right)) throw new AppError('forbidden');
    next();
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new AppError('unauthenticated');
  return req.principal;
}
