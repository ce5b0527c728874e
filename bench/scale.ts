/**
 * `npm run bench -- --scale`: does the embedded database stay fast as the county's history grows?
 * (issue 15; QUALITY.md: every request within 2× from 1,000 to 50,000 stored applications, no
 * periodic job worse than linear.)
 *
 * For each size (BENCH_SCALE_SIZES, default 1,000 / 10,000 / 50,000) it seeds a fresh database with
 * bulk inserts — applications shaped like the service's own (about 2 KB, 5 documents, history),
 * register entries for the approved ones, key documents, resident accounts, queue entries for the
 * open cases, access-log entries, a day or two of outbox and idempotency records and some stored
 * files — then measures, one request after another, the median and p90 of each request kind a
 * resident, an officer or the public makes, the officer queue page, and one round of each periodic
 * job. The number of OPEN cases stays the same at every size (BENCH_SCALE_OPEN, default 500): open
 * work follows the inflow and the time to decide, not the years of history behind it. Cases are
 * spread over Taoyuan's own townships and villages (29 townships, `schemas/divisions`): the county
 * views read one statistics bucket per township and month, so the number of townships sets their
 * cost, and the history behind the period must not.
 *
 * Start-up jobs (full recovery, orphan sweep, queue repair, key backfill, notification catch-up)
 * read everything once by design (and on FerretDB only after an unclean stop); they are shown with
 * their cost per 1,000 applications, which stays flat when they are linear, up to
 * BENCH_SCALE_STARTUP_MAX (default 10,000), and are not part of the ratio line.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Types, type Connection } from 'mongoose';
import { createStaff, createTerminal } from '../service/accounts/accounts.service';
import { createApp } from '../service/app';
import { APPLICANT_KEY, backfillApplicationKeys, NUMBER_KEY } from '../service/applications/applications.service';
import { purgeIdempotencyKeys } from '../service/applications/idempotency';
import { SERIAL_KEY } from '../service/certificates/certificates.model';
import { recoverIssuance } from '../service/certificates/certificates.service';
import { loadConfig } from '../service/config';
import type { AppContext } from '../service/context';
import { sweepOrphans } from '../service/documents/documents.service';
import { connect, type DatabaseHandle } from '../service/lib/database';
import { resolveDatabase } from '../service/lib/devdatabase';
import { loadKeys } from '../service/lib/keys';
import { createLogger } from '../service/lib/logger';
import { purgeRateCounters } from '../service/lib/ratelimit';
import { MemoryNotifier } from '../service/notifications/notifier';
import { dispatchDue, purgeNotifications, sweepMissedNotifications } from '../service/notifications/notifications.service';
import { entryOf, repairQueueEntries, retryFailedQueueSyncs } from '../service/review/queue.store';
import { buildContext } from '../service/runtime';
import { rebuildCaseKeys } from '../service/system/case-keys';
import { backfillAccountKeys } from '../service/accounts/accounts.store';
import { backfillSearchKeys } from '../service/ledger/ledger.store';
import { forgetDashboards } from '../service/stats/dashboard.service';
import { rebuildStatsBuckets } from '../service/stats/stats.store';
import { asParty, birthServiceForm, PDF } from '../test/support/forms';
import { couple, uniqueIdNumber } from '../test/support/app';
import { staffVisitor, Visitor } from '../test/support/visitor';
import { envInt, fmt, median, table } from './lib';
import { OFFICER_TOWNSHIP, submittedDoc } from './shapes';
import { TOWNSHIPS } from '../service/divisions/divisions';

/** A comma-separated list of positive whole numbers (any count), or the default. */
function sizesFrom(raw: string | undefined, fallback: number[]): number[] {
  if (!raw) return fallback;
  const xs = raw.split(',').map((x) => Number(x.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`BENCH_SCALE_SIZES must be sizes like 1000,10000,50000; got "${raw}"`);
  return xs;
}

const S = {
  sizes: sizesFrom(process.env.BENCH_SCALE_SIZES, [1_000, 10_000, 50_000]),
  samples: envInt('BENCH_SCALE_SAMPLES', 30),
  open: envInt('BENCH_SCALE_OPEN', 500),
  mine: envInt('BENCH_SCALE_MINE', 100),
  batch: envInt('BENCH_SEED_BATCH', 1_000),
  /** Start-up jobs read everything (minutes at 50,000 on a busy 2-core machine); linearity shows from 1k to 10k. */
  startupMax: envInt('BENCH_SCALE_STARTUP_MAX', 10_000),
  /** Applications the county receives a month (Taoyuan: about 4,300 certificates in six months): more stored means older history, not a busier month. */
  monthly: envInt('BENCH_SCALE_MONTHLY', 750),
};

const DAY = 86_400_000;

const log = (msg: string): void => console.log(`  ${msg}`);
const quiet = { info: () => {}, warn: () => {} };
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]!;
const rand = (n: number): number => Math.floor(Math.random() * n);
const hex = (bytes: number): string => crypto.randomBytes(bytes).toString('hex');

/** The i-th case's village: the county's townships in turn (each lists its villages), a village of it at random. */
function villageOf(i: number): string {
  const { villages } = TOWNSHIPS[i % TOWNSHIPS.length]!;
  return villages[rand(villages.length)]!.code;
}

/* ---------- seeding (bulk inserts on the raw collections) ---------- */

async function bulk(conn: Connection, collection: string, docs: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < docs.length; i += S.batch) await conn.db!.collection(collection).insertMany(docs.slice(i, i + S.batch), { ordered: false });
}

async function seed(ctx: AppContext, size: number): Promise<void> {
  const { conn } = ctx;
  const now = ctx.clock.now();
  const t0 = performance.now();
  let done = 0;
  const progress = (): void => {
    const rate = done / ((performance.now() - t0) / 1000);
    process.stdout.write(`\r  seeding ${size.toLocaleString('en')}: ${done.toLocaleString('en')} applications (${fmt(rate)}/s)   `);
  };
  for (let start = 0; start < size; start += S.batch) {
    const apps: Record<string, unknown>[] = [];
    const certs: Record<string, unknown>[] = [];
    const keys: Record<string, unknown>[] = [];
    const entries: Record<string, unknown>[] = [];
    const accounts: Record<string, unknown>[] = [];
    const access: Record<string, unknown>[] = [];
    const decisions: Record<string, unknown>[] = [];
    const ratings: Record<string, unknown>[] = [];
    const complaints: Record<string, unknown>[] = [];
    for (let i = start; i < Math.min(size, start + S.batch); i += 1) {
      const mine = i < S.mine;
      const open = i < S.open;
      const division = mine ? `${OFFICER_TOWNSHIP}${String(201 + rand(30))}` : villageOf(i);
      const township = division.slice(0, 9);
      const status = open ? (i % 4 === 0 ? 'in_review' : 'pending') : (['approved', 'approved', 'approved', 'approved', 'rejected', 'withdrawn'] as const)[rand(6)]!;
      // The history goes back as far as the size needs at the county's monthly inflow; the open cases are this month's.
      const at = open ? now : new Date(now.getTime() - Math.floor((i - S.open) / S.monthly) * 30 * DAY - rand(30) * DAY);
      const doc = submittedDoc({ division, status, level: open && !mine && rand(5) === 0 ? 'county' : 'township', now: at, seq: i }) as Record<string, unknown> & {
        _id: Types.ObjectId;
        number: string;
        applicantId: string;
        type: string;
        resident: { name: string; idHash: string; idMasked: string };
        division: string;
        channel: string;
      };
      doc.number = `${String(doc.number).slice(0, 12)}${String(i).padStart(7, '0')}`;
      // What a filed case carries for the family record and the officers' search (keyed hashes; values do not matter here).
      Object.assign(doc, { familyKey: hex(16), searchKeys: [`n:${hex(16)}`, `i:${hex(16)}`, `p:${hex(16)}`] });
      const decided = status === 'approved' || status === 'rejected';
      if (decided) {
        const kind = status === 'approved' ? 'approval' : 'refusal';
        decisions.push({ _id: hex(16), applicationId: doc._id.toString(), applicationNumber: doc.number, kind, number: `桃卫许${kind === 'approval' ? '准' : '不'}字〔2026〕第${String(i).padStart(7, '0')}号`, issuer: '桃源县卫生健康局', issuerDivision: '430725', decidedAt: at, issuedAt: at, sha256: hex(32), size: 40_000 });
        // About one decided case in three is rated (a tenth of those badly, each followed up); one in fifty draws a complaint, answered.
        if (i % 3 === 0) {
          const score = i % 30 === 0 ? 1 + rand(2) : 3 + rand(3);
          ratings.push({ _id: new Types.ObjectId(), applicationId: doc._id.toString(), applicationNumber: doc.number, type: doc.type, division: doc.division, score, channel: doc.channel, ratedBy: { id: doc.applicantId, role: 'applicant', name: '张伟' }, createdAt: at, followUp: score <= 2 ? { status: 'done', deadline: at.toISOString().slice(0, 10), outcome: '已电话回访', by: { id: hex(12), role: 'officer', name: '王芳' }, at, onTime: true } : null });
        }
        if (i % 50 === 7) {
          complaints.push({ _id: new Types.ObjectId(), applicationId: doc._id.toString(), applicationNumber: doc.number, type: doc.type, division: doc.division, recipient: { applicantId: doc.applicantId }, filedBy: { id: doc.applicantId, role: 'applicant', name: '张伟' }, channel: doc.channel, text: '办理时间太长', status: 'answered', createdAt: at, responseDeadline: at.toISOString().slice(0, 10), answer: { text: '已核实并答复', by: { id: hex(12), role: 'officer', name: '王芳' }, at }, answeredAt: at, answeredOnTime: true });
        }
      }
      if (status === 'approved') {
        const serial = `${String(doc.division).slice(0, 6)}-2026-BS-${String(i).padStart(7, '0')}`;
        const verifyId = hex(16);
        const certificate = { serial, verifyId, token: `${hex(40)}.${hex(200)}.${hex(48)}`, kid: 'bench', issuedAt: at, validUntil: null, issuerDivision: township };
        Object.assign(doc, { certificateSerial: serial, certificate });
        certs.push({
          _id: doc._id,
          serial,
          applicationId: doc._id.toString(),
          applicationNumber: doc.number,
          type: doc.type,
          verifyId,
          token: certificate.token,
          kid: 'bench',
          holderName: doc.resident.name,
          holderIdHash: doc.resident.idHash,
          holderIdMasked: doc.resident.idMasked,
          issuerDivision: township,
          issuedAt: at,
          validUntil: null,
          status: 'valid',
        });
        keys.push({ _id: `${SERIAL_KEY}:${serial}`, ids: [doc._id] });
      }
      keys.push({ _id: `${NUMBER_KEY}:${doc.number}`, ids: [doc._id] });
      keys.push({ _id: `${APPLICANT_KEY}:${doc.applicantId}`, ids: [doc._id] });
      const entry = entryOf(doc as never);
      if (entry) entries.push(entry as unknown as Record<string, unknown>);
      if (i % 2 === 0) {
        accounts.push({
          _id: new Types.ObjectId(doc.applicantId),
          loginKey: `id:${crypto.randomBytes(32).toString('base64url')}`,
          role: 'applicant',
          name: '张伟',
          idHash: doc.resident.idHash,
          idNumberEnc: crypto.randomBytes(60).toString('base64url'),
          idMasked: doc.resident.idMasked,
          phone: '13800138000',
          passwordHash: `scrypt$12$8$1$${hex(16)}$${hex(32)}`,
          disabled: false,
          createdAt: now,
        });
      }
      access.push({ _id: doc._id.toString(), entries: [0, 1].map(() => ({ at, actor: { id: hex(12), role: 'officer', name: '王芳' }, what: 'view' })) });
      apps.push(doc);
    }
    await bulk(conn, 'applications', apps);
    await bulk(conn, 'certificates', certs);
    await bulk(conn, 'key_index', keys);
    if (entries.length) await bulk(conn, 'queue_entries', entries);
    await bulk(conn, 'accounts', accounts);
    await bulk(conn, 'access_log_buckets', access);
    if (decisions.length) await bulk(conn, 'decisions', decisions);
    if (ratings.length) await bulk(conn, 'ratings', ratings);
    if (complaints.length) await bulk(conn, 'complaints', complaints);
    done += apps.length;
    progress();
  }
  // What retention leaves in the small working collections: a couple of days of messages, a day of idempotency records.
  const day = 86_400_000;
  await bulk(
    conn,
    'notification_outbox',
    Array.from({ length: 200 }, (_v, i) => ({ _id: `bench:${i}`, event: 'submitted', applicationId: 'bench', recipient: {}, text: '您的申请已受理。', state: 'delivered', attempts: 1, nextAttemptAt: now, createdAt: new Date(now.getTime() - rand(2 * day)), deliveredAt: now })),
  );
  await bulk(conn, 'idempotency_keys', Array.from({ length: 100 }, (_v, i) => ({ _id: `bench:${i}:${hex(8)}`, fingerprint: hex(32), state: 'done', status: 201, body: { id: hex(12) }, createdAt: new Date(now.getTime() - rand(day)) })));
  // Stored files for the orphan sweep: one per 20 applications (referenced or not makes no difference to its reads).
  for (let i = 0; i < Math.ceil(size / 20); i += 1) {
    const staged = await ctx.files.create();
    fs.writeFileSync(staged.stagingPath, PDF);
    await ctx.files.commit(staged.id);
  }
  process.stdout.write(`\r  seeded ${size.toLocaleString('en')} applications and companions in ${fmt((performance.now() - t0) / 1000, 1)} s${' '.repeat(20)}\n`);
  // The derived records a running service writes along with each case, built the way start-up builds them on older data.
  const t1 = performance.now();
  await rebuildCaseKeys(ctx);
  await backfillAccountKeys(ctx);
  await backfillSearchKeys(ctx);
  await rebuildStatsBuckets(ctx);
  log(`derived records built in ${fmt((performance.now() - t1) / 1000, 1)} s (case, account and search keys, statistics buckets)`);
}

/* ---------- measuring ---------- */

interface Sample {
  median: number;
  p90: number;
}

async function time(n: number, op: () => Promise<unknown>): Promise<Sample> {
  for (let i = 0; i < 2; i += 1) await op();
  const ms: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const t = performance.now();
    await op();
    ms.push(performance.now() - t);
  }
  return { median: median(ms), p90: p90(ms) };
}

async function call(base: string, method: string, url: string, opts: { auth?: string; body?: unknown; expect?: number } = {}): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { ...(opts.auth ? { Authorization: opts.auth } : {}), ...(opts.body ? { 'Content-Type': 'application/json' } : {}), 'X-Forwarded-For': `10.${rand(250)}.${rand(250)}.${rand(250)}` },
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  if (res.status !== (opts.expect ?? 200)) throw new Error(`${method} ${url}: ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}


async function submitted(base: string, auth: string, idNumber: string): Promise<{ id: string; number: string }> {
  const form = asParty('birth-service', birthServiceForm(), idNumber);
  const created = await call(base, 'POST', '/api/v1/applications', { auth, body: { type: 'birth-service', form }, expect: 201 });
  const check = await call(base, 'POST', '/api/v1/certificate-types/birth-service/eligibility-check', { body: { form } });
  for (const doc of check.requiredDocuments as { kind: string }[]) {
    const fd = new FormData();
    fd.append('kind', doc.kind);
    fd.append('file', new Blob([PDF], { type: 'application/pdf' }), `${doc.kind}.pdf`);
    const res = await fetch(`${base}/api/v1/applications/${String(created.id)}/documents`, { method: 'POST', headers: { Authorization: auth }, body: fd });
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  }
  const sub = await call(base, 'POST', `/api/v1/applications/${String(created.id)}/submit`, { auth, body: {} });
  return { id: String(sub.id), number: String(sub.number) };
}

type Results = Map<string, Map<number, Sample>>;

async function measureSize(database: DatabaseHandle, keysDir: string, size: number, results: Results, startup: Map<string, Map<number, number>>): Promise<void> {
  const dbName = `fpc_scale_${size}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-scale-'));
  const config = loadConfig({ NODE_ENV: 'test', KEYS_DIR: keysDir, UPLOADS_DIR: path.join(tmp, 'uploads'), DATA_DIR: tmp, TRUST_PROXY_HOPS: '1', LOG_LEVEL: 'silent', PASSWORD_COST_LOG2: '10', QUOTA_OPEN_DRAFTS: '1000', QUOTA_DRAFTS_PER_HOUR: '100000', QUOTA_COMPLAINTS_PER_DAY: '100000' });
  const conn = await connect(database.uri, dbName);
  await conn.dropDatabase();
  const sms = new MemoryNotifier();
  const ctx = await buildContext(config, createLogger('silent'), conn, { keys: loadKeys(keysDir, true), notifier: sms });
  await database.indexIds?.();
  const app = createApp(ctx);
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // BENCH_SCALE_TRACE=1: after each request kind, the database operations it ran that are not by `_id` alone
  // (on FerretDB each of those decodes its whole collection).
  const scans = new Map<string, number>();
  if (process.env.BENCH_SCALE_TRACE === '1') {
    conn.set('debug', (collection: string, method: string, filter?: unknown) => {
      const f = filter && typeof filter === 'object' ? (filter as Record<string, unknown>) : {};
      const keys = Object.keys(f);
      if (/^(insert|bulkWrite|createIndex)/.test(method) || (keys.length === 1 && keys[0] === '_id' && (typeof f._id !== 'object' || f._id instanceof Types.ObjectId))) return;
      const what = `${collection}.${method} ${JSON.stringify(f, (_k, v: unknown) => (typeof v === 'string' && v.length > 12 ? '…' : v)).slice(0, 140)}`;
      scans.set(what, (scans.get(what) ?? 0) + 1);
    });
  }
  const record = (name: string, s: Sample): void => {
    if (!results.has(name)) results.set(name, new Map());
    results.get(name)!.set(size, s);
    log(`${name.padEnd(42)} median ${fmt(s.median, 1).padStart(8)} ms   p90 ${fmt(s.p90, 1).padStart(8)} ms`);
    for (const [what, count] of scans) log(`    not by _id ×${count}: ${what}`);
    scans.clear();
  };
  try {
    await seed(ctx, size);

    // People, through the real API.
    const person = { idNumber: uniqueIdNumber(), name: '李明', phone: '13800138000', password: 'correct horse battery' };
    // Registration confirms the phone with a code (read from the in-memory message sink, as the tests do).
    await call(base, 'POST', '/api/v1/auth/phone-code', { body: { purpose: 'register', phone: person.phone }, expect: 202 });
    await call(base, 'POST', '/api/v1/auth/register', { body: { ...person, code: await sms.lastCode(person.phone) }, expect: 202 });
    const resident = `Bearer ${String((await call(base, 'POST', '/api/v1/auth/login', { body: { idNumber: person.idNumber, password: person.password } })).accessToken)}`;
    const staff = { username: `scale${size}`, password: 'bench-officer-password' };
    await createStaff(ctx, { ...staff, name: '王芳', role: 'officer', level: 'township', jurisdiction: [OFFICER_TOWNSHIP] });
    const officer = `Bearer ${String((await call(base, 'POST', '/api/v1/auth/login', { body: staff })).accessToken)}`;
    const approvedCase = await submitted(base, resident, person.idNumber);
    await call(base, 'POST', `/api/v1/applications/${approvedCase.id}/claim`, { auth: officer, body: {} });
    const serial = String((await call(base, 'POST', `/api/v1/applications/${approvedCase.id}/decision`, { auth: officer, body: { action: 'approve', reason: '同意' } })).certificateSerial);
    const token = String((await call(base, 'GET', `/api/v1/certificates/${serial}`, { auth: resident })).token);
    const worked = await submitted(base, resident, person.idNumber);
    const draft = await call(base, 'POST', '/api/v1/applications', { auth: resident, body: { type: 'birth-service', form: asParty('birth-service', birthServiceForm(), person.idNumber) }, expect: 201 });

    const n = S.samples;
    scans.clear();
    log(`measuring (${n} requests each, one at a time, after 2 warm-up requests)`);
    record('resident: sign in', await time(n, () => call(base, 'POST', '/api/v1/auth/login', { body: { idNumber: person.idNumber, password: person.password } })));
    record('resident: read own application (by _id)', await time(n, () => call(base, 'GET', `/api/v1/applications/${worked.id}`, { auth: resident })));
    record('resident: list own applications', await time(n, () => call(base, 'GET', '/api/v1/applications', { auth: resident })));
    record('resident: edit a draft (update by _id)', await time(n, () => call(base, 'PATCH', `/api/v1/applications/${String(draft.id)}`, { auth: resident, body: { form: asParty('birth-service', birthServiceForm(), person.idNumber) } })));
    // At most 20 queries per number in 15 minutes (the rate limit): fewer samples here.
    record('public: case status (number + ID number)', await time(Math.min(n, 15), () => call(base, 'POST', '/api/v1/status', { body: { number: approvedCase.number, idNumber: person.idNumber } })));
    record('public: verify certificate (QR token)', await time(n, () => call(base, 'GET', `/api/v1/verify/${token}`)));
    record('public: verify certificate (serial)', await time(n, () => call(base, 'GET', `/api/v1/verify/${serial}`)));
    record('officer: queue page (20)', await time(n, () => call(base, 'GET', '/api/v1/queue?limit=20', { auth: officer })));
    record('officer: read an application', await time(n, () => call(base, 'GET', `/api/v1/applications/${worked.id}`, { auth: officer })));
    let claimed = false;
    const claimOrRelease = async (): Promise<void> => {
      await call(base, 'POST', `/api/v1/applications/${worked.id}/${claimed ? 'release' : 'claim'}`, { auth: officer, body: {} });
      claimed = !claimed;
    };
    record('officer: claim / release (compare-and-set)', await time(n, claimOrRelease));

    // Filing, each sample a new case: a draft, its first document, the submission; a kiosk's filing.
    // One open case per couple and type: each new case is the resident's with another spouse.
    const form = asParty('birth-service', birthServiceForm(), person.idNumber);
    const kinds = ((await call(base, 'POST', '/api/v1/certificate-types/birth-service/eligibility-check', { body: { form } })).requiredDocuments as { kind: string }[]).map((d) => d.kind);
    const drafts: string[] = [];
    record('resident: create a draft', await time(n, async () => drafts.push(String((await call(base, 'POST', '/api/v1/applications', { auth: resident, body: { type: 'birth-service', form: couple(form) }, expect: 201 })).id))));
    const upload = async (id: string, kind: string): Promise<void> => {
      const fd = new FormData();
      fd.append('kind', kind);
      fd.append('file', new Blob([PDF], { type: 'application/pdf' }), `${kind}.pdf`);
      const res = await fetch(`${base}/api/v1/applications/${id}/documents`, { method: 'POST', headers: { Authorization: resident }, body: fd });
      if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
    };
    let next = 0;
    record('resident: upload a document', await time(n, () => upload(drafts[next++]!, kinds[0]!)));
    for (const id of drafts) for (const kind of kinds.slice(1)) await upload(id, kind);
    next = 0;
    const filed: string[] = [];
    record('resident: submit an application', await time(n, async () => filed.push(String((await call(base, 'POST', `/api/v1/applications/${drafts[next++]!}/submit`, { auth: resident, body: {} })).id))));
    const kiosk = `Bearer ${String((await call(base, 'POST', '/api/v1/auth/terminal-token', { body: await createTerminal(ctx, { name: '桃源县测试终端', township: OFFICER_TOWNSHIP }) })).accessToken)}`;
    record(
      'kiosk: file for a resident (new draft)',
      await time(n, () => {
        const who = uniqueIdNumber('female');
        return call(base, 'POST', '/api/v1/applications', { auth: kiosk, body: { type: 'birth-service', form: asParty('birth-service', birthServiceForm(), who), resident: { idNumber: who, name: '刘芳' }, operatorName: '陈干事', consent: { given: true, method: 'signature' } }, expect: 201 });
      }),
    );

    // Deciding, each sample a new case; then the resident's complaint and rating on the decided ones.
    for (const id of filed) await call(base, 'POST', `/api/v1/applications/${id}/claim`, { auth: officer, body: {} });
    next = 0;
    record('officer: approve (issues the certificate)', await time(n, () => call(base, 'POST', `/api/v1/applications/${filed[next++]!}/decision`, { auth: officer, body: { action: 'approve', reason: '同意' } })));
    next = 0;
    record('resident: file a complaint', await time(n, () => call(base, 'POST', `/api/v1/applications/${filed[next++]!}/complaints`, { auth: resident, body: { text: '办理时间太长' }, expect: 201 })));
    next = 0;
    record('resident: rate a decided case', await time(n, () => call(base, 'POST', `/api/v1/applications/${filed[next++]!}/rating`, { auth: resident, body: { score: 4 }, expect: 201 })));

    // The pages, as a browser asks for them (signed-in web sessions).
    const web = { app, ctx };
    const page = (v: Visitor, url: string) => async (): Promise<void> => {
      const res = await v.get(url);
      if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
    };
    const desk = (await staffVisitor(web, { role: 'officer', level: 'township', jurisdiction: [OFFICER_TOWNSHIP] })).v;
    const admin = (await staffVisitor(web, { role: 'admin' })).v;
    const home = new Visitor(app);
    await home.get('/sign-in');
    if ((await home.post('/sign-in', { idNumber: person.idNumber, password: person.password })).status !== 303) throw new Error('resident sign-in on the pages failed');
    record('resident: my applications page', await time(n, page(home, '/my')));
    record('resident: application page', await time(n, page(home, `/my/${worked.id}`)));
    record('officer: workqueue page', await time(n, page(desk, '/officer')));
    record('officer: case page (form, trace, family, history)', await time(n, page(desk, `/officer/cases/${worked.id}`)));
    record('officer: search by number', await time(n, async () => {
      await desk.get('/officer/search');
      const res = await desk.post('/officer/search', { by: 'number', value: approvedCase.number });
      if (res.status !== 200) throw new Error(`search: ${res.status}`);
    }));
    // The 30 days ending today. The dashboard keeps a result for a minute: each sample drops it first, so
    // every sample computes the same figures afresh (the period, and the eight weeks of its trend).
    const day = (back: number): string => new Date(ctx.clock.now().getTime() + 8 * 3_600_000 - back * DAY).toISOString().slice(0, 10);
    const period = `from=${day(29)}&to=${day(0)}`;
    const fresh = (v: Visitor, url: string) => (): Promise<void> => {
      forgetDashboards();
      return page(v, url)();
    };
    record('officer: register page (30 days)', await time(n, page(desk, `/officer/register?${period}`)));
    record('officer: dashboard, township (30 days)', await time(n, fresh(desk, `/officer/dashboard?${period}`)));
    record('admin: dashboard, county (30 days)', await time(n, fresh(admin, `/officer/dashboard?${period}`)));
    record('officer: complaints inbox', await time(n, page(desk, '/officer/complaints')));
    record('officer: rating follow-ups', await time(n, page(desk, '/officer/follow-ups')));
    record('admin: staff and terminals page', await time(n, page(admin, '/admin')));

    log('periodic jobs (one round each, median of 5)');
    const jobs: [string, () => Promise<unknown>][] = [
      ['job: issuance recovery (minutely)', () => recoverIssuance(ctx, quiet)],
      ['job: idempotency purge (minutely)', () => purgeIdempotencyKeys(ctx)],
      ['job: notification purge (minutely)', () => purgeNotifications(ctx)],
      ['job: rate-limit purge (minutely)', () => purgeRateCounters(ctx.models.RateCounter, ctx.clock.now())],
      ['job: queue-entry retries (minutely)', () => retryFailedQueueSyncs()],
      ['job: notification dispatcher, idle (minutely)', () => dispatchDue(ctx)],
    ];
    for (const [name, run] of jobs) record(name, await time(5, run));

    if (size > S.startupMax) {
      log(`start-up jobs skipped above ${S.startupMax.toLocaleString('en')} applications (BENCH_SCALE_STARTUP_MAX)`);
      return;
    }
    log('start-up jobs (once; linear by design)');
    const once: [string, () => Promise<unknown>][] = [
      ['start-up: key backfill', () => backfillApplicationKeys(ctx)],
      ['start-up: account key backfill', () => backfillAccountKeys(ctx)],
      ['start-up: case key rebuild', () => rebuildCaseKeys(ctx)],
      ['start-up: search key backfill', () => backfillSearchKeys(ctx)],
      ['start-up: statistics bucket rebuild', () => rebuildStatsBuckets(ctx)],
      ['start-up: full issuance recovery', () => recoverIssuance(ctx, quiet, 0, { full: true })],
      ['start-up: orphan file sweep', () => sweepOrphans(ctx, quiet, new Date(Date.now() - 3_600_000), 0)],
      ['start-up: queue-entry repair', () => repairQueueEntries(ctx.models)],
      ['start-up: notification catch-up sweep', () => sweepMissedNotifications(ctx, new Date(ctx.clock.now().getTime() - 86_400_000))],
    ];
    for (const [name, run] of once) {
      const t = performance.now();
      await run();
      const ms = performance.now() - t;
      if (!startup.has(name)) startup.set(name, new Map());
      startup.get(name)!.set(size, ms);
      log(`${name.padEnd(42)} ${fmt(ms)} ms (${fmt((ms / size) * 1000)} ms per 1,000 applications)`);
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await conn.dropDatabase().catch(() => undefined);
    await conn.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function scaleBench(): Promise<void> {
  const started = performance.now();
  console.log(`fpc scale benchmark — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  const database = await resolveDatabase({ mongodbUri: process.env.MONGODB_URI, logger: { ...quiet, error: console.error } });
  console.log(`database: ${database.kind}; sizes ${S.sizes.map((s) => s.toLocaleString('en')).join(' / ')}; ${S.open} open cases at every size (${S.mine} in the officer's township)`);
  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-scale-keys-'));
  loadKeys(keysDir, true);
  const results: Results = new Map();
  const startup = new Map<string, Map<number, number>>();
  try {
    for (const size of S.sizes) {
      console.log(`\n${size.toLocaleString('en')} applications`);
      await measureSize(database, keysDir, size, results, startup);
    }
  } finally {
    await database.stop();
    fs.rmSync(keysDir, { recursive: true, force: true });
  }

  const first = S.sizes[0]!;
  const last = S.sizes.at(-1)!;
  const label = (n: number): string => (n >= 1000 ? `${n / 1000}k` : String(n));
  const header = ['operation', ...S.sizes.map((s) => `${label(s)} median / p90 ms`), `${label(last)}/${label(first)}`];
  let worst = { ratio: 0, name: '' };
  const rows = [...results].map(([name, bySize]) => {
    const a = bySize.get(first)?.median ?? NaN;
    const b = bySize.get(last)?.median ?? NaN;
    // Sub-millisecond jobs jitter by more than their size: compare from 1 ms up.
    const ratio = Math.max(b, 1) / Math.max(a, 1);
    if (ratio > worst.ratio) worst = { ratio, name };
    return [name, ...S.sizes.map((s) => `${fmt(bySize.get(s)?.median ?? NaN, 1)} / ${fmt(bySize.get(s)?.p90 ?? NaN, 1)}`), `${fmt(ratio, 2)}×`];
  });
  console.log(`\nResults (database: ${database.kind})\n`);
  console.log(table([header, ...rows]));
  console.log('\nStart-up jobs (once per start; linear when the cost per 1,000 stays flat)\n');
  const measured = S.sizes.filter((s) => s <= S.startupMax);
  console.log(table([['job', ...measured.map((s) => `${label(s)}: ms (per 1k)`)], ...[...startup].map(([name, bySize]) => [name, ...measured.map((s) => `${fmt(bySize.get(s) ?? NaN)} (${fmt(((bySize.get(s) ?? NaN) / s) * 1000)})`)])]));
  const queue = results.get('officer: queue page (20)')?.get(last)?.median ?? NaN;
  console.log(`\nofficer queue page at ${last.toLocaleString('en')}: ${fmt(queue, 1)} ms (target 300 ms)`);
  console.log(`took ${fmt((performance.now() - started) / 1000)} s`);
  console.log(`scale: worst ${label(last)}/${label(first)} ratio = ${fmt(worst.ratio, 1)} (${worst.name})`);
}
