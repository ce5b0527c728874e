import type { QueryFilter } from 'mongoose';
import type { ApplicationDoc } from '../applications/applications.model';
import type { AppContext } from '../context';
import { can, type Principal, type Right } from './auth';
import { trustedFilter } from './database';
import { AppError } from './errors';
import type { Bilingual } from './i18n';

/**
 * Who may see and do what, in one place: the scope filters (which documents a caller may see at
 * all) and the object checks (may this caller act on this one), each expressed as rights of the
 * rights table (`auth.ts`), never as role names. A service asks here; it does not compare roles.
 */

/** 403 unless the caller holds the right (a service's own check, behind the route's). */
export function assertRight(p: Principal, right: Right, message?: Bilingual): void {
  if (!can(p, right)) throw new AppError('forbidden', message);
}

/**
 * The resident's side (a resident, or a kiosk filing for one): sees their own cases in full, and
 * officers by role only, never by name.
 */
export const residentSide = (p: Principal): boolean => can(p, 'application:read-own');

/** A kiosk: files on a resident's behalf, and its own cases are the ones it filed lately. */
export const filesForResident = (p: Principal): boolean => can(p, 'application:file-for-resident');

/** A resident signed in with their own account (not a kiosk filing for one). */
export const residentAccount = (p: Principal): boolean => residentSide(p) && !filesForResident(p);

/** Staff reading other people's cases, inside their jurisdiction: they see who acted, and their reads are logged. */
export const readsOthers = (p: Principal): boolean => can(p, 'application:read-any');

/** Acts on the whole county whatever the account's jurisdiction list (every queue, case, complaint and certificate). */
export const countyWide = (p: Principal): boolean => can(p, 'jurisdiction:all');

/**
 * Documents whose division code (in `field`) lies inside the caller's jurisdiction: everything for a
 * county-wide caller, nothing for one without a jurisdiction. With `exactLength` (the length of the
 * codes the field holds) a jurisdiction code of exactly that length is an equality (an index serves
 * it), a broader one a prefix match, and a narrower one (which no such code can lie in) is left out.
 */
export function jurisdictionFilter(p: Principal, field = 'division', exactLength?: number): Record<string, unknown> {
  if (countyWide(p)) return {};
  const codes = (p.jurisdiction ?? []).map((j) => j.replace(/\D/g, '')).filter(Boolean);
  const exact = exactLength === undefined ? [] : codes.filter((c) => c.length === exactLength);
  const prefixes = exactLength === undefined ? codes : codes.filter((c) => c.length < exactLength);
  const clauses: Record<string, unknown>[] = [];
  if (exact.length) clauses.push({ [field]: { $in: exact } });
  for (const prefix of prefixes) clauses.push({ [field]: { $regex: `^${prefix}` } });
  if (clauses.length === 0) return trustedFilter({ _id: { $exists: false } });
  return trustedFilter(clauses.length === 1 ? clauses[0]! : { $or: clauses });
}

/** The object twin of `jurisdictionFilter`: is this division code inside the caller's jurisdiction? */
export function inJurisdiction(p: Principal, divisionCode: string): boolean {
  if (countyWide(p)) return true;
  return (p.jurisdiction ?? []).some((prefix) => divisionCode.startsWith(prefix));
}

/**
 * Could anything under this division prefix (a township's code, say) lie in the caller's
 * jurisdiction? For choosing which per-area lists to read; each document is then checked with
 * `jurisdictionFilter`. A prefix that is no division code (`-`) only for a county-wide caller.
 */
export function overlapsJurisdiction(p: Principal, prefix: string): boolean {
  if (countyWide(p)) return true;
  return (p.jurisdiction ?? []).some((code) => /^\d+$/.test(prefix) && (prefix.startsWith(code) || code.startsWith(prefix)));
}

/**
 * Which applications a caller may see at all. Anything outside answers 404, never 403, so that a
 * number or id reveals nothing about other people's cases. A resident: their own, and from its
 * submission a case a kiosk filed for them; a kiosk: what it filed within its window; staff: every
 * submitted case in their jurisdiction.
 */
export function applicationScope(ctx: Pick<AppContext, 'clock' | 'config'>, p: Principal): QueryFilter<ApplicationDoc> {
  if (filesForResident(p)) {
    return trustedFilter({ 'terminal.terminalId': p.id, createdAt: { $gte: new Date(ctx.clock.now().getTime() - ctx.config.terminalWindowSeconds * 1000) } });
  }
  if (residentSide(p)) {
    return p.idHash ? trustedFilter({ $or: [{ applicantId: p.id }, { 'resident.idHash': p.idHash, channel: 'terminal', status: { $ne: 'draft' } }] }) : { applicantId: p.id };
  }
  if (readsOthers(p)) return trustedFilter({ status: { $ne: 'draft' }, ...jurisdictionFilter(p) });
  return trustedFilter({ _id: { $exists: false } });
}
