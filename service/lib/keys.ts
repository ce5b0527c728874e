import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { loadPdfKeyRing, type PdfKeyRing } from '../pdf/signing';

/**
 * Signing keys by purpose. Access tokens and certificates never share a key: a certificate token
 * can then never pass as an access token, whatever its claims say.
 *
 * Layout under KEYS_DIR/<purpose>/: `<kid>.pem` (PKCS#8 P-256 private key; signs and verifies) and
 * `<kid>.pub.pem` (public only: a retired key that still verifies during the rotation overlap).
 * The active signing key is the one named in `<purpose>/ACTIVE`, else the newest kid in sort order.
 */
export type KeyPurpose = 'access' | 'certificate';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export interface KeyRing {
  readonly purpose: KeyPurpose;
  readonly algorithm: 'ES256';
  active(): SigningKey;
  /** The public key for a kid, or undefined for a kid we never issued. */
  publicKey(kid: string): KeyObject | undefined;
  /** Every verifying public key, for /.well-known/jwks.json. */
  publicJwks(): Array<Record<string, unknown>>;
}

export class KeyConfigError extends Error {}

const KID = /^[A-Za-z0-9._-]{1,64}$/;

export function loadKeyRing(keysDir: string, purpose: KeyPurpose, generateIfMissing: boolean): KeyRing {
  const dir = path.join(keysDir, purpose);
  if (!fs.existsSync(dir) || fs.readdirSync(dir).filter((f) => f.endsWith('.pem')).length === 0) {
    if (!generateIfMissing) throw new KeyConfigError(`no ${purpose} signing key in ${dir} (create one with: npm run admin -- new-key ${purpose})`);
    generateKey(keysDir, purpose);
  }
  const privates = new Map<string, SigningKey>();
  const publics = new Map<string, KeyObject>();
  for (const file of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, file);
    if (file.endsWith('.pub.pem')) {
      const kid = file.slice(0, -'.pub.pem'.length);
      if (KID.test(kid)) publics.set(kid, crypto.createPublicKey(fs.readFileSync(full)));
    } else if (file.endsWith('.pem')) {
      const kid = file.slice(0, -'.pem'.length);
      if (!KID.test(kid)) continue;
      const privateKey = crypto.createPrivateKey(fs.readFileSync(full));
      if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
        throw new KeyConfigError(`${full} is not a P-256 EC key (ES256)`);
      }
      const publicKey = crypto.createPublicKey(privateKey);
      privates.set(kid, { kid, privateKey, publicKey });
      publics.set(kid, publicKey);
    }
  }
  const activeFile = path.join(dir, 'ACTIVE');
  const named = fs.existsSync(activeFile) ? fs.readFileSync(activeFile, 'utf8').trim() : undefined;
  const activeKid = named ?? [...privates.keys()].sort().at(-1);
  const active = activeKid ? privates.get(activeKid) : undefined;
  if (!active) throw new KeyConfigError(`no usable ${purpose} private key in ${dir}${named ? ` (ACTIVE names ${named})` : ''}`);

  return {
    purpose,
    algorithm: 'ES256',
    active: () => active,
    publicKey: (kid) => publics.get(kid),
    publicJwks: () =>
      [...publics.entries()].map(([kid, key]) => ({ ...key.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' })),
  };
}

/** Creates a new P-256 key; it becomes the active one unless an ACTIVE file pins another. */
export function generateKey(keysDir: string, purpose: KeyPurpose): string {
  const dir = path.join(keysDir, purpose);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // A sortable UTC timestamp first, so that the newest key sorts last and becomes the active one.
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const kid = `${purpose}-${stamp}-${crypto.randomBytes(4).toString('hex')}`;
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  fs.writeFileSync(path.join(dir, `${kid}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return kid;
}

/** A 32-byte secret kept in a file (ID-number hashing and encryption keys). */
export function loadSecret(keysDir: string, name: string, generateIfMissing: boolean): Buffer {
  const file = path.join(keysDir, `${name}.key`);
  if (!fs.existsSync(file)) {
    if (!generateIfMissing) throw new KeyConfigError(`missing secret ${file} (create it with: npm run admin -- new-secret ${name})`);
    fs.mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  const hex = fs.readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(hex)) throw new KeyConfigError(`${file} must hold 64 hex characters`);
  return Buffer.from(hex, 'hex');
}

export interface Keys {
  access: KeyRing;
  certificate: KeyRing;
  /** HMAC key for looking up ID numbers by keyed hash. */
  idHash: Buffer;
  /** AES-256-GCM key for ID numbers at rest. */
  dataKey: Buffer;
  /** RSA key and X.509 certificate that sign our PDFs (KEYS_DIR/pdf/). */
  pdf: PdfKeyRing;
}

export function loadKeys(keysDir: string, generateIfMissing: boolean): Keys {
  return {
    access: loadKeyRing(keysDir, 'access', generateIfMissing),
    certificate: loadKeyRing(keysDir, 'certificate', generateIfMissing),
    idHash: loadSecret(keysDir, 'id-hash', generateIfMissing),
    dataKey: loadSecret(keysDir, 'data', generateIfMissing),
    pdf: loadPdfKeyRing(keysDir, generateIfMissing),
  };
}
