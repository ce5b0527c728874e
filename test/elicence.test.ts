import assert from 'node:assert/strict';
import { loadConfig } from '../service/config';
import { eLicenceIdentifier, isUnifiedSocialCreditCode, isValidELicenceIdentifier, licenceNumberOf, mod3736CheckCharacter } from '../service/certificates/elicence';
import { base32, shortIdOf } from '../service/certificates/links';

/**
 * A second MOD 37,36 implementation by the standard's verification rule instead of its formula for
 * the check character: the right character is the one of the 36 with which the checked string's
 * last intermediate value is 1. Brute force over the candidates.
 */
function referenceCheck(data: string): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const endsOnOne = (s: string): boolean => {
    let p = 36;
    let last = 0;
    for (const ch of s) {
      last = (p + alphabet.indexOf(ch)) % 36 || 36;
      p = (last * 2) % 37;
    }
    return last === 1;
  };
  const hits = [...alphabet].filter((c) => endsOnOne(data + c));
  assert.equal(hits.length, 1, 'exactly one check character validates');
  return hits[0]!;
}

describe('E-licence identifier (GB/T 36902 frame, ISO 7064 MOD 37,36)', () => {
  it('when computed for the published GRid example A1-2425G-ABC1234002-M, then the check character is M (published example)', () => {
    // Global Release Identifier, whose check character is ISO 7064 MOD 37,36: the standard example.
    assert.equal(mod3736CheckCharacter('A12425GABC1234002'), 'M');
  });

  it('when computed for derived strings, then it agrees with an independent brute-force implementation', () => {
    const samples = ['0', 'Z', '12156300520', '1215630052DEV0000000000000000BS11430725MB0000000K4307252026BS000001001', 'RABD', 'X0H'];
    for (let i = 0; i < 200; i += 1) samples.push(Array.from({ length: 1 + (i % 40) }, (_, j) => '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'[(i * 7 + j * 13) % 36]).join(''));
    for (const s of samples) assert.equal(mod3736CheckCharacter(s), referenceCheck(s), s);
  });

  it('when one character of the identifier changes or two swap, then the check fails', () => {
    const id = eLicenceIdentifier('DEV0000000000000000BS', '11430725MB0000000K', '430725-2026-BS-000001');
    assert.match(id, /^1\.2\.156\.3005\.2\.DEV0000000000000000BS\.11430725MB0000000K\.4307252026BS000001\.001\.[0-9A-Z]$/);
    assert.ok(isValidELicenceIdentifier(id));
    assert.ok(!isValidELicenceIdentifier(id.replace('000001.001', '000002.001')));
    assert.ok(!isValidELicenceIdentifier(id.replace('2026BS', '2026SB')));
    assert.ok(!isValidELicenceIdentifier('1.2.156.3005.2.X'));
    assert.equal(licenceNumberOf('430725-2026-RB-000123'), '4307252026RB000123');
  });

  it('when a unified social credit code is checked, then the GB 32100 example passes and a changed character fails', () => {
    assert.ok(isUnifiedSocialCreditCode('91350100M000100Y43'), 'the example of GB 32100-2015 (published example)');
    assert.ok(!isUnifiedSocialCreditCode('91350100M000100Y44'));
    assert.ok(isUnifiedSocialCreditCode('11430725MB0000000K'));
  });

  it('when configuration gives codes, then they are parsed once and bad ones stop the start with every problem named', () => {
    const ok = loadConfig({ NODE_ENV: 'test', ELICENCE_TYPE_CODES: 'birth-service=114300000000000000BS1', ELICENCE_ISSUER_CODES: '430725=91350100M000100Y43' });
    assert.equal(ok.eLicence.typeCodes['birth-service'], '114300000000000000BS1');
    assert.equal(ok.eLicence.issuerCodes['430725'], '91350100M000100Y43');
    assert.throws(
      () => loadConfig({ NODE_ENV: 'test', ELICENCE_TYPE_CODES: 'birth-service=short', ELICENCE_ISSUER_CODES: '430725=91350100M000100Y44' }),
      (err: Error) => /ELICENCE_TYPE_CODES/.test(err.message) && /ELICENCE_ISSUER_CODES/.test(err.message),
    );
  });

  it('when a short QR identifier is derived, then it is the 128-bit jti in 26 base32 characters (RFC 4648 test vector)', () => {
    assert.equal(base32(Buffer.from('foobar')), 'MZXW6YTBOI');
    const jti = Buffer.alloc(16, 0xff).toString('base64url');
    assert.equal(shortIdOf(jti), '77777777777777777777777774');
    assert.match(shortIdOf(Buffer.from('0123456789abcdef').toString('base64url')), /^[A-Z2-7]{26}$/);
  });
});
