import crypto from 'node:crypto';
import { maskName } from './idnumber';

/**
 * ID numbers are high-risk personal information: stored encrypted (AES-256-GCM), looked up by a
 * keyed hash (HMAC-SHA-256), never logged.
 */
export function idHash(key: Buffer, idNumber: string): string {
  return crypto.createHmac('sha256', key).update(idNumber.toUpperCase()).digest('base64url');
}

export function encrypt(key: Buffer, plain: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

/** A resident's name as stored: sealed, with the masked form public screens and history lines show. */
export interface SealedName {
  nameSealed: string;
  nameMasked: string;
}

export const sealName = (key: Buffer, name: string): SealedName => ({ nameSealed: encrypt(key, name.trim()), nameMasked: maskName(name) });

/** The name in clear, from a sealed record (or one stored before names were sealed). */
export function openName(key: Buffer, v: { nameSealed?: string | null; name?: string | null }): string {
  return v.nameSealed ? decrypt(key, v.nameSealed) : (v.name ?? '');
}

/** A JSON value sealed with AES-256-GCM (forms carry health data and children's data: PIPL sensitive). */
export const sealJson = (key: Buffer, value: unknown): string => encrypt(key, JSON.stringify(value));
export const openJson = <T>(key: Buffer, sealed: string): T => JSON.parse(decrypt(key, sealed)) as T;

export function decrypt(key: Buffer, sealed: string): string {
  const [version, iv, tag, body] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unknown ciphertext format');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
