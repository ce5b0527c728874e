import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import jwt from 'jsonwebtoken';
import { qrPng, qrSvg } from '../service/certificates/qr';
import { signCertificate, verifyCertificateToken, type CertificateClaims } from '../service/certificates/signing';
import { FixedClock } from '../service/lib/clock';
import { generateKey, loadKeyRing, type KeyRing } from '../service/lib/keys';
import { signToken } from '../service/lib/tokens';

const settings = { issuer: 'fpc.taoyuan.gov.cn', audience: 'fpc-certificate' } as const;
const clock = new FixedClock('2026-03-19T02:00:00Z');
const claims: CertificateClaims = {
  serial: '430725-2026-RB-000123',
  type: 'rebirth-permit',
  holder: '张*',
  issuedAt: '2026-03-19T02:00:00.000Z',
  issuerDivision: '430725',
  validUntil: null,
  applicationNumber: '430725-2026-000042',
};

/** Replaces the payload of a compact JWS, keeping header and signature. */
function withPayload(token: string, edit: (p: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  edit(decoded);
  return `${header}.${Buffer.from(JSON.stringify(decoded)).toString('base64url')}.${signature}`;
}

/** Pins the active key explicitly: two kids made on one day sort by their random suffix, not by age. */
function activate(keysDir: string, kid: string): KeyRing {
  fs.writeFileSync(path.join(keysDir, 'certificate', 'ACTIVE'), kid);
  return loadKeyRing(keysDir, 'certificate', false);
}

describe('certificate signing', () => {
  let keysDir: string;
  let ring: KeyRing;
  beforeEach(() => {
    keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-keys-'));
    ring = activate(keysDir, generateKey(keysDir, 'certificate'));
  });
  afterEach(() => fs.rmSync(keysDir, { recursive: true, force: true }));

  it('when a certificate is signed, then it verifies with its claims, its kid and a 128-bit jti', () => {
    const token = signCertificate(ring, settings, clock, claims);
    const result = verifyCertificateToken(ring, settings, clock, token);
    assert.ok(result.ok);
    assert.deepEqual(result.claims, claims);
    assert.equal(result.kid, ring.active().kid);
    assert.ok(Buffer.from(result.jti, 'base64url').length >= 16);
    const header = jwt.decode(token, { complete: true })!.header;
    assert.equal(header.alg, 'ES256');
    assert.equal((jwt.decode(token) as jwt.JwtPayload).exp, undefined, 'a certificate carries its own validity, not exp');
  });

  it('when the same certificate is signed twice, then the tokens differ (fresh randomness each time)', () => {
    const a = verifyCertificateToken(ring, settings, clock, signCertificate(ring, settings, clock, claims));
    const b = verifyCertificateToken(ring, settings, clock, signCertificate(ring, settings, clock, claims));
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.jti, b.jti);
  });

  it('when a validity date is set, then it survives the round trip', () => {
    const migrant = { ...claims, type: 'migrant-marriage', validUntil: '2029-03-18' };
    const result = verifyCertificateToken(ring, settings, clock, signCertificate(ring, settings, clock, migrant));
    assert.ok(result.ok);
    assert.equal(result.claims.validUntil, '2029-03-18');
  });

  it('when the payload is edited, then the token is invalid', () => {
    const token = signCertificate(ring, settings, clock, claims);
    const forged = withPayload(token, (p) => {
      p.holder = '李*';
    });
    assert.deepEqual(verifyCertificateToken(ring, settings, clock, forged), { ok: false, reason: 'rejected' });
  });

  it('when the token is garbage, unsigned or alg none, then it is invalid', () => {
    assert.deepEqual(verifyCertificateToken(ring, settings, clock, 'not-a-token'), { ok: false, reason: 'malformed' });
    const none = jwt.sign({ ...claims, typ: 'certificate', sub: claims.serial }, '', { algorithm: 'none' });
    assert.equal(verifyCertificateToken(ring, settings, clock, none).ok, false);
  });

  it('when the kid is unknown, then the token is invalid', () => {
    const otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-keys-'));
    try {
      const stranger = activate(otherDir, generateKey(otherDir, 'certificate'));
      const token = signCertificate(stranger, settings, clock, claims);
      assert.deepEqual(verifyCertificateToken(ring, settings, clock, token), { ok: false, reason: 'unknown_key' });
    } finally {
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it('when an access token is presented, then it is invalid, whichever key signed it', () => {
    const access = loadKeyRing(keysDir, 'access', true);
    const accessSettings = { issuer: settings.issuer, audience: 'fpc-api' };
    const accessToken = signToken(access, accessSettings, clock, { typ: 'access', sub: 'account-1' }, 900);
    assert.deepEqual(verifyCertificateToken(ring, settings, clock, accessToken), { ok: false, reason: 'unknown_key' });
    // Even signed with the certificate key, a token of another type or audience is refused.
    const wrongType = signToken(ring, settings, clock, { ...claims, typ: 'access', sub: claims.serial, jti: 'x'.repeat(22) }, 900);
    assert.deepEqual(verifyCertificateToken(ring, settings, clock, wrongType), { ok: false, reason: 'wrong_type' });
    const wrongAudience = signToken(ring, accessSettings, clock, { ...claims, typ: 'certificate', sub: claims.serial, jti: 'x'.repeat(22) }, undefined);
    assert.deepEqual(verifyCertificateToken(ring, settings, clock, wrongAudience), { ok: false, reason: 'rejected' });
  });

  it('when a token lacks the random jti or a claim, then it is invalid', () => {
    const noJti = signToken(ring, settings, clock, { ...claims, typ: 'certificate', sub: claims.serial }, undefined);
    assert.deepEqual(verifyCertificateToken(ring, settings, clock, noJti), { ok: false, reason: 'bad_claims' });
    const { holder: _omitted, ...partial } = claims;
    const noHolder = signToken(ring, settings, clock, { ...partial, typ: 'certificate', sub: claims.serial, jti: crypto.randomBytes(16).toString('base64url') }, undefined);
    assert.deepEqual(verifyCertificateToken(ring, settings, clock, noHolder), { ok: false, reason: 'bad_claims' });
  });

  it('when verified offline with only the published JWKS, then the signature and claims hold', () => {
    const token = signCertificate(ring, settings, clock, claims);
    const jwks = JSON.parse(JSON.stringify({ keys: ring.publicJwks() })) as { keys: Array<crypto.JsonWebKey & { kid: string }> };
    const { kid } = jwt.decode(token, { complete: true })!.header;
    const jwk = jwks.keys.find((k) => k.kid === kid);
    assert.ok(jwk, 'the token kid is published');
    assert.equal(jwk.d, undefined, 'no private part is published');
    const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    const payload = jwt.verify(token, key, { algorithms: ['ES256'], issuer: settings.issuer, audience: settings.audience }) as jwt.JwtPayload;
    assert.equal(payload.serial, claims.serial);
    assert.equal(payload.typ, 'certificate');
    assert.throws(() => jwt.verify(withPayload(token, (p) => (p.validUntil = '2099-01-01')), key, { algorithms: ['ES256'] }), /invalid signature/);
  });

  it('when the key is rotated, then certificates signed with the old key still verify, online and offline', () => {
    const oldKid = ring.active().kid;
    const oldToken = signCertificate(ring, settings, clock, claims);

    const newKid = generateKey(keysDir, 'certificate');
    const rotated = activate(keysDir, newKid);
    assert.equal(rotated.active().kid, newKid);
    const newToken = signCertificate(rotated, settings, clock, { ...claims, serial: '430725-2026-RB-000124' });
    assert.equal(jwt.decode(newToken, { complete: true })!.header.kid, newKid);

    for (const token of [oldToken, newToken]) assert.ok(verifyCertificateToken(rotated, settings, clock, token).ok);
    assert.deepEqual(rotated.publicJwks().map((k) => k.kid).sort(), [oldKid, newKid].sort());

    // Retire the old private key, keeping only its public half: old certificates still verify.
    const dir = path.join(keysDir, 'certificate');
    const oldPublic = crypto.createPublicKey(fs.readFileSync(path.join(dir, `${oldKid}.pem`)));
    fs.writeFileSync(path.join(dir, `${oldKid}.pub.pem`), oldPublic.export({ type: 'spki', format: 'pem' }));
    fs.rmSync(path.join(dir, `${oldKid}.pem`));
    const retired = loadKeyRing(keysDir, 'certificate', false);
    assert.ok(verifyCertificateToken(retired, settings, clock, oldToken).ok);
    const jwk = retired.publicJwks().find((k) => k.kid === oldKid) as crypto.JsonWebKey;
    jwt.verify(oldToken, crypto.createPublicKey({ key: jwk, format: 'jwk' }), { algorithms: ['ES256'] });
  });
});

describe('certificate QR codes', () => {
  const url = `https://fpc.taoyuan.gov.cn/verify/${'a'.repeat(400)}`;

  it('when a PNG is made, then it starts with the PNG signature', async () => {
    const png = await qrPng(url);
    assert.deepEqual(png.subarray(0, 8), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  });

  it('when an SVG is made, then it is an <svg> element', async () => {
    const svg = await qrSvg(url);
    assert.match(svg, /^<svg[\s>]/);
    assert.match(svg, /<\/svg>\s*$/);
  });
});
