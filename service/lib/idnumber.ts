import { plausibleIdAddressCode } from '../divisions/divisions';

/**
 * Resident identity card numbers, GB 11643-1999: 6-digit address code, 8-digit birth date, 3-digit
 * sequence (odd: male, even: female) and an ISO 7064 MOD 11-2 check character.
 */

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export type Sex = 'male' | 'female';

export interface ParsedIdNumber {
  /** The 18-character number, upper-case X. */
  normalized: string;
  addressCode: string;
  /** YYYY-MM-DD */
  birthDate: string;
  sex: Sex;
}

export type IdNumberProblem = 'format' | 'check' | 'date' | 'future' | 'early' | 'address';

/** Nobody alive and applying was born earlier; the standard's 1880 example is a format example only. */
export const EARLIEST_BIRTH = '1900-01-01';

export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

/**
 * Parses an 18-digit number (lower-case x accepted) or upgrades a legacy 15-digit one (born 19xx,
 * no check character). `today` (YYYY-MM-DD) rejects birth dates in the future.
 */
export function parseIdNumber(input: string, today: string): { ok: true; value: ParsedIdNumber } | { ok: false; problem: IdNumberProblem } {
  const raw = input.trim().toUpperCase();
  let normalized: string;
  if (/^\d{15}$/.test(raw)) {
    const first17 = `${raw.slice(0, 6)}19${raw.slice(6)}`;
    normalized = first17 + checkCharacter(first17);
  } else if (/^\d{17}[\dX]$/.test(raw)) {
    normalized = raw;
  } else {
    return { ok: false, problem: 'format' };
  }
  const y = Number(normalized.slice(6, 10));
  const m = Number(normalized.slice(10, 12));
  const d = Number(normalized.slice(12, 14));
  if (!validDate(y, m, d)) return { ok: false, problem: 'date' };
  if (checkCharacter(normalized.slice(0, 17)) !== normalized[17]) return { ok: false, problem: 'check' };
  const birthDate = `${normalized.slice(6, 10)}-${normalized.slice(10, 12)}-${normalized.slice(12, 14)}`;
  if (birthDate > today) return { ok: false, problem: 'future' };
  if (birthDate < EARLIEST_BIRTH) return { ok: false, problem: 'early' };
  if (!plausibleIdAddressCode(normalized.slice(0, 6))) return { ok: false, problem: 'address' };
  return {
    ok: true,
    value: {
      normalized,
      addressCode: normalized.slice(0, 6),
      birthDate,
      sex: Number(normalized[16]) % 2 === 1 ? 'male' : 'female',
    },
  };
}

export const ID_PROBLEM_MESSAGES: Record<IdNumberProblem, { zh: string; en: string }> = {
  format: { zh: '身份证号码应为18位（最后一位可以是X）', en: 'An ID number has 18 characters (the last may be X)' },
  check: { zh: '身份证号码校验位不正确，请核对', en: 'The ID number check character is wrong' },
  date: { zh: '身份证号码中的出生日期不存在', en: 'The birth date inside the ID number does not exist' },
  future: { zh: '身份证号码中的出生日期晚于今天', en: 'The birth date inside the ID number is in the future' },
  early: { zh: '身份证号码中的出生日期早于1900年，请核对', en: 'The birth date inside the ID number is before 1900' },
  address: { zh: '身份证号码前六位不是有效的行政区划代码，请核对', en: 'The first six digits of the ID number are not a division code' },
};

/** Full years (周岁) from one YYYY-MM-DD date to another; born on 29 February, one turns a year older on 1 March. */
export function fullYears(from: string, to: string): number {
  const years = Number(to.slice(0, 4)) - Number(from.slice(0, 4));
  return to.slice(5) < from.slice(5) ? years - 1 : years;
}

/** Staff screens: first 6 and last 4 characters. */
export function maskIdForStaff(idNumber: string): string {
  return `${idNumber.slice(0, 6)}********${idNumber.slice(-4)}`;
}

/** Public screens show less than staff screens: a surname and a masked given name, no ID number. */
export function maskName(name: string): string {
  const chars = Array.from(name.trim());
  if (chars.length <= 1) return '*';
  return chars[0] + '*'.repeat(chars.length - 1);
}
