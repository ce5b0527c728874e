import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import type { Connection } from 'mongoose';
import request from 'supertest';
import { createApp } from '../../service/app';
import { loadConfig, type Config } from '../../service/config';
import type { AppContext } from '../../service/context';
import { systemClock, type Clock } from '../../service/lib/clock';
import { connect } from '../../service/lib/database';
import { checkCharacter } from '../../service/lib/idnumber';
import { loadKeys, type Keys } from '../../service/lib/keys';
import { createLogger } from '../../service/lib/logger';
import { buildContext } from '../../service/runtime';
import { createStaff, createTerminal } from '../../service/accounts/accounts.service';
import { MemoryNotifier } from '../../service/notifications/notifier';
import { residentsByAuth } from './forms';
import { fileDatabase, testDatabase } from './hooks';
import { checkResponsesOf } from './responses';

let sharedKeys: { dir: string; keys: Keys } | undefined;

/** Signing keys made once per run in a temporary folder (like development does in ./data/keys). */
export function testKeys(): { dir: string; keys: Keys } {
  if (!sharedKeys) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-keys-'));
    sharedKeys = { dir, keys: loadKeys(dir, true) };
  }
  return sharedKeys;
}

export function testConfig(env: Record<string, string> = {}): Config {
  const uploads = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-uploads-'));
  // Test files drive one account through dozens of drafts; the quota tests set the real limits.
  const roomy = { QUOTA_OPEN_DRAFTS: '1000', QUOTA_DRAFTS_PER_HOUR: '100000', QUOTA_COMPLAINTS_PER_DAY: '100000' };
  return loadConfig({ NODE_ENV: 'test', KEYS_DIR: testKeys().dir, UPLOADS_DIR: uploads, DATA_DIR: os.tmpdir(), ...roomy, ...env });
}

export interface TestApp {
  app: Express;
  ctx: AppContext;
  conn: Connection;
  /** What the app "sent by SMS": tests read one-time codes here, as a resident reads their phone. */
  sms: MemoryNotifier;
  close(): Promise<void>;
}

const notifiers = new WeakMap<Express, MemoryNotifier>();

/** Databases emptied in this run: a file's database is emptied once, before its first app. */
const emptied = new Map<string, Promise<void>>();

/**
 * A fresh app on the calling test file's own database (`fileDatabase()`), emptied before its first
 * use in the run; `database` names a second database of the same file.
 */
export async function makeTestApp(opts: { clock?: Clock; config?: Config; database?: string; uri?: string; monitorCommands?: boolean } = {}): Promise<TestApp> {
  const config = opts.config ?? testConfig();
  const dbName = fileDatabase(opts.database);
  const conn = await connect(opts.uri ?? testDatabase().uri, dbName, { monitorCommands: opts.monitorCommands });
  const key = `${opts.uri ?? ''} ${dbName}`;
  if (!emptied.has(key)) emptied.set(key, conn.dropDatabase().then(() => undefined));
  await emptied.get(key);
  const sms = new MemoryNotifier();
  // With a gateway configured, messages still go to it; the test reads codes from the copy kept here.
  const ctx = await buildContext(config, createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), conn, { clock: opts.clock ?? systemClock, keys: testKeys().keys, ...(config.notifyWebhook ? {} : { notifier: sms }) });
  if (config.notifyWebhook) {
    const gateway = ctx.notifier;
    ctx.notifier = { deliver: async (m) => (await sms.deliver(m), gateway.deliver(m)) };
  }
  const app = createApp(ctx);
  notifiers.set(app, sms);
  checkResponsesOf(app, (await request(app).get('/openapi.json').expect(200)).body);
  return { app, ctx, conn, sms, close: () => conn.close() };
}

let phoneCounter = 0;
/** A mobile number no other registration in this run uses (codes are limited per number). */
export function uniquePhone(): string {
  phoneCounter += 1;
  return `139${String(process.pid % 10_000).padStart(4, '0')}${String(phoneCounter % 10_000).padStart(4, '0')}`;
}

/** Asks the app for a registration code for `phone` and reads it from the fake SMS gateway. */
export async function registrationCode(app: Express, phone: string): Promise<string> {
  const sms = notifiers.get(app);
  if (!sms) throw new Error('registrationCode needs an app made by makeTestApp');
  const before = sms.to(phone).length;
  await request(app).post('/api/v1/auth/phone-code').send({ purpose: 'register', phone }).expect(202);
  assert.equal(sms.to(phone).length, before + 1, 'one code was sent');
  return sms.lastCode(phone);
}

/** Registers through the phone-code flow, as a resident does; answers 202 whatever the outcome. */
export async function register(app: Express, body: { idNumber: string; name: string; password: string; phone?: string }): Promise<request.Response> {
  const phone = body.phone ?? uniquePhone();
  const code = await registrationCode(app, phone);
  return request(app).post('/api/v1/auth/register').send({ ...body, phone, code });
}

/** A valid, unique resident ID number (GB 11643) for a person of the given sex and birth year. */
export function makeIdNumber(sex: 'male' | 'female' = 'male', birth = '1990-03-07', county = '430725'): string {
  const seq = crypto.randomInt(0, 50) * 2 + (sex === 'male' ? 1 : 0);
  const random = `${crypto.randomInt(0, 10)}${String(seq).padStart(2, '0')}`;
  const first17 = `${county}${birth.replace(/-/g, '')}${random}`;
  return first17 + checkCharacter(first17);
}

/** Real county-level codes of Changde (GB/T 2260), so that ID numbers pass the address-code check. */
const CHANGDE_COUNTIES = ['430702', '430703', '430721', '430722', '430723', '430724', '430725', '430726', '430781'];

let counter = 0;
/**
 * Unique enough per run: a random birth date keeps ID numbers from colliding across test files. Born
 * 1978–1982 by default: old enough for the marriage dates of the sample forms (a man marries at 22; the honour form's couple married in 2005).
 */
export function uniqueIdNumber(sex: 'male' | 'female' = 'male', year = 1978): string {
  counter += 1;
  const day = crypto.randomInt(0, 365 * 5);
  const birth = new Date(Date.UTC(year, 0, 1) + day * 86_400_000).toISOString().slice(0, 10);
  return makeIdNumber(sex, birth, CHANGDE_COUNTIES[counter % CHANGDE_COUNTIES.length]);
}

/** The same form with another wife: a new couple, so that one open case per couple and type never refuses it. */
export const couple = <F extends Record<string, unknown>>(form: F): F => ({ ...form, wife: { ...(form.wife as object), idNumber: uniqueIdNumber('female', 1980) } });

export async function registerAndLogin(app: Express, overrides: Partial<{ idNumber: string; name: string; password: string; phone: string }> = {}) {
  // Born 1978–1982: old enough to have married at the dates the sample forms give.
  const body = { idNumber: overrides.idNumber ?? uniqueIdNumber(), name: overrides.name ?? '李明', phone: overrides.phone ?? uniquePhone(), password: overrides.password ?? 'correct horse' };
  assert.equal((await register(app, body)).status, 202);
  const login = await request(app).post('/api/v1/auth/login').send({ idNumber: body.idNumber, password: body.password }).expect(200);
  const auth = `Bearer ${login.body.accessToken}`;
  const me = await request(app).get('/api/v1/auth/me').set('Authorization', auth).expect(200);
  residentsByAuth.set(auth, body.idNumber);
  return { id: me.body.id as string, idNumber: body.idNumber, phone: body.phone, token: login.body.accessToken as string, auth };
}

export async function staffLogin(
  t: TestApp,
  spec: { role: 'officer' | 'admin'; level?: 'township' | 'county'; jurisdiction?: string[]; idNumber?: string },
) {
  const username = `u${crypto.randomBytes(5).toString('hex')}`;
  const password = 'officer-password-1';
  const { id } = await createStaff(t.ctx, { username, password, name: '王芳', ...spec });
  const login = await request(t.app).post('/api/v1/auth/login').send({ username, password }).expect(200);
  return { id, username, token: login.body.accessToken as string, auth: `Bearer ${login.body.accessToken}` };
}

export async function terminalLogin(t: TestApp, township = '430725101') {
  const creds = await createTerminal(t.ctx, { name: '测试终端', township });
  const res = await request(t.app).post('/api/v1/auth/terminal-token').send(creds).expect(200);
  return { ...creds, token: res.body.accessToken as string, auth: `Bearer ${res.body.accessToken}` };
}
