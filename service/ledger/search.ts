import crypto from 'node:crypto';
import type { AppContext } from '../context';
import { idHash } from '../lib/personal';

/**
 * What officers search by, kept as keyed hashes (HMAC with the ID-hash key) in one indexed array on
 * the application: the spouses' ID numbers (`i:`), their normalised names in full (`n=`) and each
 * leading part of up to MAX_PREFIX characters (`n^`). An exact-match lookup on the array answers
 * "number", "name" and "name starts with" without any name or number kept in clear; the prefix keys
 * link records that share a surname only for someone who holds the key.
 */
export const MAX_PREFIX = 6;

/** Full-width to half-width, no spaces or middle dots, lower case: 欧阳 明远 = 欧阳明远, ZHANG San = zhangsan. */
export function normaliseName(name: string): string {
  return name.normalize('NFKC').replace(/[\s·•・.]/gu, '').toLowerCase();
}

const keyed = (ctx: Pick<AppContext, 'keys'>, text: string): string => crypto.createHmac('sha256', ctx.keys.idHash).update(text).digest('base64url').slice(0, 24);

export const idKey = (ctx: Pick<AppContext, 'keys'>, idNumber: string): string => `i:${idHash(ctx.keys.idHash, idNumber.trim())}`;
export const nameKey = (ctx: Pick<AppContext, 'keys'>, name: string): string => `n=${keyed(ctx, `name:${normaliseName(name)}`)}`;
export const prefixKey = (ctx: Pick<AppContext, 'keys'>, prefix: string): string => `n^${keyed(ctx, `name-prefix:${normaliseName(prefix)}`)}`;

function nameKeys(ctx: Pick<AppContext, 'keys'>, name: string): string[] {
  const chars = [...normaliseName(name)];
  if (chars.length === 0) return [];
  const prefixes = chars.slice(0, MAX_PREFIX).map((_c, i) => prefixKey(ctx, chars.slice(0, i + 1).join('')));
  return [nameKey(ctx, name), ...prefixes];
}

/** The people a form names (both spouses; the woman and her spouse for the migrant certificate) and the resident. */
export function searchKeysOf(ctx: Pick<AppContext, 'keys'>, type: string, form: Record<string, unknown>, residentName: string): string[] {
  const people = (type === 'migrant-marriage' ? [form.applicant, form.spouse] : [form.husband, form.wife]) as ({ name?: unknown; idNumber?: unknown } | undefined)[];
  const keys = new Set<string>(nameKeys(ctx, residentName));
  for (const person of people) {
    if (typeof person?.idNumber === 'string' && person.idNumber.trim()) keys.add(idKey(ctx, person.idNumber));
    if (typeof person?.name === 'string') for (const k of nameKeys(ctx, person.name)) keys.add(k);
  }
  return [...keys];
}
