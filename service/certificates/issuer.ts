import type { Config } from '../config';

/**
 * The issuing authority's real name for a division code: the county's health bureau for a county
 * decision, the township's people's government or the subdistrict's office for a township one.
 * Until the county's division data is in `schemas/` (issue 12), the names we know are listed here;
 * a township without one prints with its code, never as a template. This is the one place to back
 * with that data.
 */
const KNOWN: Readonly<Record<string, string>> = {
  '430725': '桃源县卫生健康局',
  '430725001': '桃源县漳江街道办事处',
  '430725101': '桃源县陬市镇人民政府',
  '430725200': '桃源县青林回族维吾尔族乡人民政府',
  '430725202': '桃源县枫树维吾尔族回族乡人民政府',
};

export function issuerName(divisionCode: string): string {
  const known = KNOWN[divisionCode];
  if (known) return known;
  if (/^\d{9}$/.test(divisionCode)) return `桃源县人民政府 ${divisionCode} 乡镇（街道）`;
  return KNOWN[divisionCode.slice(0, 6)] ?? `${divisionCode} 卫生健康局`;
}

/** The issuer's unified social credit code: the configured code of the longest matching division prefix. */
export function issuerCode(config: Pick<Config, 'eLicence'>, divisionCode: string): string {
  for (let len = divisionCode.length; len >= 6; len -= 3) {
    const code = config.eLicence.issuerCodes[divisionCode.slice(0, len)];
    if (code) return code;
  }
  throw new Error(`no unified social credit code configured for ${divisionCode} (ELICENCE_ISSUER_CODES)`);
}

/** The county bureau, which reviews refusals' reconsideration requests as the township's superior. */
export const countyOf = (divisionCode: string): string => divisionCode.slice(0, 6);

/**
 * Where a refused applicant may turn (Administrative Licensing Law art. 38): since the 2023
 * Administrative Reconsideration Law, reconsideration of a county department's or a township's
 * decision lies with the county government; suit lies with the basic people's court (a city may
 * assign administrative cases to another court: unverified for Changde). Kept with the issuer names
 * so that the division data can carry them later.
 */
export const REMEDY_BODIES = { reconsideration: '桃源县人民政府', court: '桃源县人民法院' } as const;
