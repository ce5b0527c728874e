import crypto from 'node:crypto';

/** scrypt, looked up on `crypto` at each call: a test counts the hashes a request computes by watching it. */
const scrypt = (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => crypto.scrypt(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

/**
 * Passwords hashed with scrypt, Node's built-in memory-hard function (N = 2^15, r = 8: 32 MiB a
 * hash in production). Built in rather than argon2 so that no native module has to compile on the
 * county's servers. The parameters are stored with the hash, so raising the cost later keeps old
 * hashes verifiable.
 */
export async function hashPassword(password: string, costLog2: number): Promise<string> {
  const salt = crypto.randomBytes(16);
  const N = 2 ** costLog2;
  const hash = await scrypt(password.normalize('NFKC'), salt, 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 + 1024 * 1024 });
  return `scrypt$${costLog2}$8$1$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, logN, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !logN || !r || !p || !salt || !hash) return false;
  const N = 2 ** Number(logN);
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password.normalize('NFKC'), Buffer.from(salt, 'base64url'), expected.length, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: 256 * N * Number(r) + 1024 * 1024,
  });
  return crypto.timingSafeEqual(actual, expected);
}

/** A hash to compare against when the account does not exist, so timing does not reveal it. */
let dummy: Promise<string> | undefined;
export function dummyHash(costLog2: number): Promise<string> {
  dummy ??= hashPassword(crypto.randomBytes(16).toString('hex'), costLog2);
  return dummy;
}
