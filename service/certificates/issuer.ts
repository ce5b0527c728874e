import type { Config } from '../config';

/** The issuer's unified social credit code: the configured code of the longest matching division prefix. */
export function issuerCode(config: Pick<Config, 'eLicence'>, divisionCode: string): string {
  for (let len = divisionCode.length; len >= 6; len -= 3) {
    const code = config.eLicence.issuerCodes[divisionCode.slice(0, len)];
    if (code) return code;
  }
  throw new Error(`no unified social credit code configured for ${divisionCode} (ELICENCE_ISSUER_CODES)`);
}

/**
 * Where a refused applicant may turn (Administrative Licensing Law art. 38): since the 2023
 * Administrative Reconsideration Law, reconsideration of a county department's or a township's
 * decision lies with the county government; suit lies with the basic people's court (a city may
 * assign administrative cases to another court: unverified for Changde). Kept beside the issuers'
 * codes until the division data carries them.
 */
export const REMEDY_BODIES = { reconsideration: '桃源县人民政府', court: '桃源县人民法院' } as const;
