/**
 * The national e-licence frame (GB/T 36901–36905; State Council decree 716): every licence carries
 * an identifier `1.2.156.3005.2.<type code>.<issuer code>.<serial>.<version>.<check>`, where the type
 * code (21 characters) names the kind of licence in the national catalogue, the issuer code is the
 * issuing authority's 18-character unified social credit code, and the check character is
 * ISO 7064 MOD 37,36 over the fields joined without dots.
 */

const MOD36_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** ISO 7064 MOD 37,36 (hybrid system, M = 36): the check character for a string over 0-9A-Z. */
export function mod3736CheckCharacter(data: string): string {
  const m = 36;
  let p = m;
  for (const ch of data.toUpperCase()) {
    const value = MOD36_ALPHABET.indexOf(ch);
    if (value < 0) throw new RangeError(`"${ch}" is not in the MOD 37,36 alphabet (0-9, A-Z)`);
    let s = (p + value) % m;
    if (s === 0) s = m;
    p = (s * 2) % (m + 1);
  }
  return MOD36_ALPHABET[(m + 1 - p) % m]!;
}

/** GB 32100-2015 unified social credit code: 18 characters, the last a MOD 31 check character. */
const USCC_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

export function isUnifiedSocialCreditCode(code: string): boolean {
  if (!/^[0-9A-HJ-NPQRTUWXY]{18}$/.test(code)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += USCC_ALPHABET.indexOf(code[i]!) * USCC_WEIGHTS[i]!;
  const r = 31 - (sum % 31);
  return code[17] === USCC_ALPHABET[r === 31 ? 0 : r];
}

export const ELICENCE_ROOT = '1.2.156.3005.2';
/** Our licences' version field: the first issue of a licence. */
export const ELICENCE_VERSION = '001';

/** `430725-2026-BS-000001` → `4307252026BS000001`: the national frame allows letters and digits only. */
export const licenceNumberOf = (serial: string): string => serial.replace(/[^0-9A-Za-z]/g, '').toUpperCase();

export function eLicenceIdentifier(typeCode: string, issuerCode: string, serial: string, version = ELICENCE_VERSION): string {
  const fields = [typeCode, issuerCode, licenceNumberOf(serial), version];
  const check = mod3736CheckCharacter(`${ELICENCE_ROOT.replace(/\./g, '')}${fields.join('')}`);
  return `${ELICENCE_ROOT}.${fields.join('.')}.${check}`;
}

/** True when an identifier's check character matches its fields. */
export function isValidELicenceIdentifier(identifier: string): boolean {
  const parts = identifier.split('.');
  if (parts.length !== 10 || parts.slice(0, 5).join('.') !== ELICENCE_ROOT) return false;
  try {
    return mod3736CheckCharacter(parts.slice(0, 9).join('')) === parts[9];
  } catch {
    return false;
  }
}
