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
 * Roles → rights: the one table that says who may do what. Object-level checks (is this my
 * application, is it in my jurisdiction) happen in the services.
 */
export const RIGHTS = {
  'application:file': ['applicant', 'terminal'],
  'application:read-own': ['applicant', 'terminal'],
  'certificate:read-own': ['applicant'],
  'complaint:file': ['applicant', 'terminal'],
  'queue:read': ['officer', 'admin'],
  'application:review': ['officer', 'admin'],
  'claim:break': ['admin'],
  'certificate:read-any': ['officer', 'admin'],
  'certificate:revoke': ['officer', 'admin'],
  'stats:read': ['officer', 'admin'],
  'complaint:answer': ['officer', 'admin'],
  'rating:give': ['applicant', 'terminal'],
  'rating:follow-up': ['officer', 'admin'],
  'account:manage': ['admin'],
  'audit:read': ['admin'],
  'application:search': ['officer', 'admin'],
  'ledger:read': ['officer', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Right = keyof typeof RIGHTS;

export function can(principal: Principal, right: Right): boolean {
  return (RIGHTS[right] as readonly Role[]).includes(principal.role);
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

/**
 * The query twin of `inJurisdiction`: documents whose division code (in `field`) lies inside the
 * officer's jurisdiction; everything for an admin, nothing for an officer without one. Its operators
 * need `trustedFilter()` around the query it joins.
 */
export function jurisdictionFilter(p: Principal, field = 'division'): Record<string, unknown> {
  if (p.role === 'admin') return {};
  const prefixes = (p.jurisdiction ?? []).map((j) => j.replace(/\D/g, '')).filter(Boolean);
  if (prefixes.length === 0) return { _id: { $exists: false } };
  return { $or: prefixes.map((prefix) => ({ [field]: { $regex: `^${prefix}` } })) };
}

/** Is a division code inside an officer's jurisdiction (a list of code prefixes)? */
export function inJurisdiction(principal: Principal, divisionCode: string): boolean {
  if (principal.role === 'admin') return true;
  return (principal.jurisdiction ?? []).some((prefix) => divisionCode.startsWith(prefix));
}
