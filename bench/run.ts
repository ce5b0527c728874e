/**
 * `npm run bench`: speed and memory of the service as RATIOS against a bare baseline measured on
 * the same machine in the same run (the fastify/benchmarks method). Load comes from autocannon in
 * this process; the service runs in a forked child (bench/server.ts) on a throwaway database
 * resolved as `npm test` resolves one (MONGODB_URI, else a mongod, else FerretDB over SQLite).
 * A and B runs alternate (ABBA…), and every figure is a median over rounds. Misses are reported,
 * never turned into a failing exit code. See bench/results/README.md for the settings.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Types, type Connection } from 'mongoose';
import type { ApplicationDoc } from '../service/applications/applications.model';
import type { CertificateDoc } from '../service/certificates/certificates.model';
import type { Principal } from '../service/lib/auth';
import { connect, trustedFilter, type DatabaseHandle } from '../service/lib/database';
import { resolveDatabase } from '../service/lib/devdatabase';
import { checkCharacter } from '../service/lib/idnumber';
import { loadKeys } from '../service/lib/keys';
import { openJson, sealJson } from '../service/lib/personal';
import { createModels } from '../service/models';
import { QUEUE_SORT, queueScope } from '../service/review/review.service';
import { entryOf } from '../service/review/queue.store';
import { PREVIEW_LIMITS } from '../service/documents/preview';
import { birthServiceForm, PDF } from '../test/support/forms';
import { api, envInt, envList, fmt, measure, median, nextIp, startServer, streamUpload, table, type BenchServer, type LoadResult } from './lib';
import type { PdfBench } from './pdf';
import { previewBench } from './preview';
import { scaleBench } from './scale';
import { OFFICER_TOWNSHIP, queueSeed } from './shapes';

/* ---------- settings (all overridable by environment) ---------- */

const S = {
  duration: envInt('BENCH_DURATION', 5),
  rounds: envInt('BENCH_ROUNDS', 5),
  connections: envInt('BENCH_CONNECTIONS', 10),
  warmup: envInt('BENCH_WARMUP', 2),
  submitMaxPerRun: envInt('BENCH_SUBMIT_MAX', 20_000),
  certificates: envInt('BENCH_CERTIFICATES', 2_000),
  queueSizes: [] as number[],
  queueMine: 0,
  queueOpenFraction: Number(process.env.BENCH_QUEUE_OPEN_FRACTION ?? 0.05),
  queueConnections: envInt('BENCH_QUEUE_CONNECTIONS', 1),
  queueMinResponses: envInt('BENCH_QUEUE_MIN_RESPONSES', 5),
  queueMaxSeconds: envInt('BENCH_QUEUE_MAX_SECONDS', 120),
  seedBatch: envInt('BENCH_SEED_BATCH', 1_000),
  uploads: envInt('BENCH_UPLOADS', 20),
  uploadBytes: envInt('BENCH_UPLOAD_BYTES', 10_000_000),
  uploadRounds: envInt('BENCH_UPLOAD_ROUNDS', 3),
  only: (process.env.BENCH_ONLY ?? 'submit,verify,queue,upload,pdf,preview,pages').split(',').map((s) => s.trim()),
};

const DB_NAMES = { submit: 'fpc_bench_submit', verify: 'fpc_bench_verify', upload: 'fpc_bench_upload', pages: 'fpc_bench_pages', queue: (n: number) => `fpc_bench_queue_${n}` };
const KINDS = ['marriage-certificate', 'id-card-husband', 'id-card-wife', 'household-register', 'photo'];

const log = (msg: string): void => console.log(`  ${msg}`);

/* ---------- shared steps ---------- */

function idNumber(sex: 'male' | 'female' = 'male'): string {
  const birth = new Date(Date.UTC(1980, 0, 1) + crypto.randomInt(0, 365 * 5) * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
  const first17 = `430725${birth}${String(crypto.randomInt(0, 500) * 2 + (sex === 'male' ? 1 : 0)).padStart(3, '0')}`;
  return first17 + checkCharacter(first17);
}

interface Resident {
  auth: string;
  idNumber: string;
}

/** A resident registered as residents register: a code to the phone, then the account. */
async function applicant(server: BenchServer): Promise<Resident> {
  const phone = `139${String(crypto.randomInt(0, 1e8)).padStart(8, '0')}`;
  await api(server.real, 'POST', '/api/v1/auth/phone-code', { body: { purpose: 'register', phone }, expect: 202 });
  const { code } = (await server.call('code', { phone })) as { code: string };
  const body = { idNumber: idNumber(), name: '李明', phone, password: 'correct horse battery', code };
  await api(server.real, 'POST', '/api/v1/auth/register', { body, expect: 202 });
  const login = await api<{ accessToken: string }>(server.real, 'POST', '/api/v1/auth/login', { body: { idNumber: body.idNumber, password: body.password }, expect: 200 });
  return { auth: `Bearer ${login.accessToken}`, idNumber: body.idNumber };
}

/** A birth-service form in which the resident is the husband (only parties file). */
const formOf = (who: Resident): Record<string, unknown> => {
  const form = birthServiceForm();
  return { ...form, husband: { ...(form.husband as Record<string, unknown>), idNumber: who.idNumber } };
};

async function officer(server: BenchServer): Promise<string> {
  const creds = (await server.call('staff', { spec: { role: 'officer', level: 'township', jurisdiction: [OFFICER_TOWNSHIP] } })) as { username: string; password: string };
  const login = await api<{ accessToken: string }>(server.real, 'POST', '/api/v1/auth/login', { body: creds, expect: 200 });
  return `Bearer ${login.accessToken}`;
}

/**
 * A township officer signed in on the pages as a browser signs in (the sign-in form, its CSRF token
 * and cookie, then the session cookie); returns the Cookie header that opens the workqueue page.
 */
async function officerSession(server: BenchServer): Promise<string> {
  const { username, password } = (await server.call('staff', { spec: { role: 'officer', level: 'township', jurisdiction: [OFFICER_TOWNSHIP] } })) as { username: string; password: string };
  const jar = new Map<string, string>();
  const keep = (res: Response): void => {
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0]!;
      const at = pair.indexOf('=');
      if (at > 0 && pair.length > at + 1) jar.set(pair.slice(0, at), pair.slice(at + 1));
      else if (at > 0) jar.delete(pair.slice(0, at));
    }
  };
  const cookie = (): string => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const form = await fetch(`${server.real}/officer/sign-in`, { headers: { Accept: 'text/html' } });
  keep(form);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1];
  if (!csrf) throw new Error('the staff sign-in page has no CSRF token');
  const signIn = await fetch(`${server.real}/officer/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { Accept: 'text/html', 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie() },
    body: new URLSearchParams({ _csrf: csrf, username, password }).toString(),
  });
  if (signIn.status !== 303) throw new Error(`staff sign-in answered ${signIn.status}`);
  keep(signIn);
  return cookie();
}

async function readyDraft(server: BenchServer, who: Resident): Promise<string> {
  const auth = who.auth;
  const created = await api<{ id: string }>(server.real, 'POST', '/api/v1/applications', { auth, body: { type: 'birth-service', form: formOf(who) }, expect: 201 });
  for (const kind of KINDS) {
    const form = new FormData();
    form.append('kind', kind);
    form.append('file', new Blob([PDF], { type: 'application/pdf' }), `${kind}.pdf`);
    await api(server.real, 'POST', `/api/v1/applications/${created.id}/documents`, { auth, form, expect: 201 });
  }
  return created.id;
}

async function insertBatched(conn: Connection, collection: string, docs: Iterable<Record<string, unknown>>, batch = S.seedBatch): Promise<number> {
  let buffer: Record<string, unknown>[] = [];
  let n = 0;
  for (const doc of docs) {
    buffer.push(doc);
    if (buffer.length >= batch) {
      await conn.db!.collection(collection).insertMany(buffer, { ordered: false });
      n += buffer.length;
      buffer = [];
    }
  }
  if (buffer.length) {
    await conn.db!.collection(collection).insertMany(buffer, { ordered: false });
    n += buffer.length;
  }
  return n;
}

/** Runs A and B `rounds` times, alternating which goes first (ABBA…), after one warm-up each. */
async function interleaved(label: [string, string], a: () => Promise<LoadResult>, b: () => Promise<LoadResult>, warm?: [() => Promise<LoadResult>, () => Promise<LoadResult>]) {
  if (warm) {
    await warm[0]();
    await warm[1]();
  }
  const A: LoadResult[] = [];
  const B: LoadResult[] = [];
  const show = (name: string, r: LoadResult): void =>
    log(`${name.padEnd(22)} ${fmt(r.rps, r.rps < 10 ? 1 : 0).padStart(7)} req/s  p50 ${fmt(r.p50, 1).padStart(7)} ms  ok ${r.ok}${r.non2xx ? `  non-2xx ${r.non2xx} ${JSON.stringify(r.codes)}` : ''}${r.errors ? `  errors ${r.errors}` : ''}${r.drain && r.drain > 0.5 ? `  (server drained for ${fmt(r.drain, 1)} s after)` : ''}`);
  for (let i = 0; i < S.rounds; i += 1) {
    const order: [string, () => Promise<LoadResult>, LoadResult[]][] = [
      [label[0], a, A],
      [label[1], b, B],
    ];
    if (i % 2 === 1) order.reverse();
    for (const [name, run, into] of order) {
      const r = await run();
      into.push(r);
      show(`round ${i + 1} ${name}`, r);
    }
  }
  return { A, B };
}

const sum = (rs: LoadResult[], k: 'non2xx' | 'errors'): number => rs.reduce((t, r) => t + r[k], 0);

interface Row {
  scenario: string;
  baselineLabel: string;
  baseline: number;
  realLabel: string;
  real: number;
  ratio: number;
  target: string;
  /** null: the target does not apply to this database (the queue target is for MongoDB). */
  pass: boolean | null;
  note?: string;
}

/* ---------- 1. submission ---------- */

async function submission(uri: string, keysDir: string): Promise<{ row: Row; detail: Record<string, unknown> }> {
  console.log('\n[1] Submission: POST /api/v1/applications/:id/submit vs bare insertOne');
  const server = await startServer(uri, DB_NAMES.submit, keysDir);
  const conn = await connect(uri, DB_NAMES.submit);
  try {
    const who = await applicant(server);
    const auth = who.auth;
    const templateId = await readyDraft(server, who);
    const keys = loadKeys(keysDir, true);
    const template = await createModels(conn).Application.findById(templateId).lean<ApplicationDoc>();
    if (!template) throw new Error('template draft not found');
    // The template itself goes through the real endpoint once: the flow works before it is timed.
    const first = await api<{ status: string; number: string }>(server.real, 'POST', `/api/v1/applications/${templateId}/submit`, { auth, body: {}, expect: 200 });
    log(`flow check: draft with ${template.documents.length} documents submitted → ${first.status} ${first.number}`);

    const templateForm = openJson<Record<string, unknown>>(keys.dataKey, template.formSealed);
    /** Copies of the ready draft (new _id), inserted directly, each with another wife (one open case per couple); returns their ids in order. */
    const drafts = async (n: number): Promise<string[]> => {
      const ids: string[] = [];
      function* gen() {
        for (let i = 0; i < n; i += 1) {
          const _id = new Types.ObjectId();
          ids.push(_id.toString());
          const form = { ...templateForm, wife: { ...(templateForm.wife as Record<string, unknown>), idNumber: idNumber('female') } };
          yield { ...template, _id, formSealed: sealJson(keys.dataKey, form) } as unknown as Record<string, unknown>;
        }
      }
      await insertBatched(conn, 'applications', gen());
      return ids;
    };
    const C = S.connections;
    const realRun = async (maxRequests: number, duration: number): Promise<LoadResult> => {
      const ids = await drafts(maxRequests + 2 * C + 10);
      let next = 0;
      const r = await measure(server, {
        url: server.real,
        connections: C,
        duration,
        maxRequests,
        method: 'POST',
        headers: { Authorization: auth, 'Content-Type': 'application/json' },
        body: '{}',
        setupRequest: (req) => ({ ...req, path: `/api/v1/applications/${ids[Math.min(next++, ids.length - 1)]}/submit` }),
      });
      // Every run starts from the same collection: its drafts (submitted or not) are removed again.
      await conn.db!.collection('applications').deleteMany({ _id: { $in: ids.map((id) => new Types.ObjectId(id)) } });
      await conn.db!.collection('open_cases').deleteMany({ applicationId: { $in: ids } });
      return r;
    };
    const bareRun = async (maxRequests: number, duration: number): Promise<LoadResult> => {
      const r = await measure(server, { url: `${server.bare}/bare/applications/submit`, connections: C, duration, maxRequests, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
      await conn.db!.collection('bare_applications').deleteMany({});
      return r;
    };

    // Size each run's pool of drafts from a short warm-up: twice what the real endpoint managed.
    const warm = await realRun(200, S.warmup);
    await bareRun(200, S.warmup);
    const perRun = Math.min(S.submitMaxPerRun, Math.max(200, Math.ceil(warm.rps * S.duration * 2)));
    log(`warm-up: real ${fmt(warm.rps)} req/s → ${perRun} drafts per real run (BENCH_SUBMIT_MAX ${S.submitMaxPerRun}), ${C} connections`);
    // The baseline needs no pool: it runs the whole duration (bounded by BENCH_SUBMIT_MAX in count).
    const { A, B } = await interleaved(['bare insertOne', 'real submit'], () => bareRun(S.submitMaxPerRun, S.duration), () => realRun(perRun, S.duration));
    const baseline = median(A.map((r) => r.rps));
    const real = median(B.map((r) => r.rps));
    const ratio = real / baseline;
    const capped = B.filter((r) => r.ok >= perRun).length;
    return {
      row: {
        scenario: 'Submission',
        baselineLabel: 'bare insertOne req/s',
        baseline,
        realLabel: 'POST …/submit req/s',
        real,
        ratio,
        target: '≥ 0.50×',
        pass: ratio >= 0.5,
        note: capped ? `${capped} real run(s) used their whole pool of ${perRun} drafts before ${S.duration} s` : undefined,
      },
      detail: { perRunDrafts: perRun, connections: C, baseline: A, real: B, realNon2xx: sum(B, 'non2xx'), baselineNon2xx: sum(A, 'non2xx') },
    };
  } finally {
    await conn.close();
    await server.stop();
  }
}

/* ---------- 2. verification ---------- */

async function verification(uri: string, keysDir: string): Promise<{ row: Row; detail: Record<string, unknown> }> {
  console.log('\n[2] Verification: GET /api/v1/verify/:token vs bare findOne by serial');
  const server = await startServer(uri, DB_NAMES.verify, keysDir);
  const conn = await connect(uri, DB_NAMES.verify);
  try {
    const who = await applicant(server);
    const auth = who.auth;
    const id = await readyDraft(server, who);
    await api(server.real, 'POST', `/api/v1/applications/${id}/submit`, { auth, body: {}, expect: 200 });
    const off = await officer(server);
    await api(server.real, 'POST', `/api/v1/applications/${id}/claim`, { auth: off, body: {}, expect: 200 });
    const approved = await api<{ status: string; certificateSerial: string }>(server.real, 'POST', `/api/v1/applications/${id}/decision`, { auth: off, body: { action: 'approve', reason: '材料齐全' }, expect: 200 });
    const serial = approved.certificateSerial;
    const cert = await api<{ token: string }>(server.real, 'GET', `/api/v1/certificates/${serial}`, { auth });
    const check = await api<{ status: string }>(server.real, 'GET', `/api/v1/verify/${cert.token}`);
    log(`flow check: ${approved.status} → certificate ${serial}, verify says "${check.status}"`);
    if (check.status !== 'valid') throw new Error(`verification of a fresh certificate answered ${check.status}`);

    // The register holds other certificates too, so the lookup is not on a one-document collection.
    const real = await createModels(conn).Certificate.findOne({ serial }).lean<CertificateDoc>();
    function* fillers() {
      for (let i = 0; i < S.certificates; i += 1) {
        yield { ...real!, _id: new Types.ObjectId(), serial: `430799-2025-BS-${String(i + 1).padStart(6, '0')}`, verifyId: crypto.randomBytes(16).toString('hex'), applicationId: new Types.ObjectId().toString(), applicationNumber: `430799-2025-${String(i + 1).padStart(6, '0')}` } as unknown as Record<string, unknown>;
      }
    }
    await insertBatched(conn, 'certificates', fillers());
    log(`register: ${S.certificates + 1} certificates; every request names a new client address (X-Forwarded-For, 1 trusted hop) so the 60/min per-address limit counts per client`);

    const C = S.connections;
    const perClient = (req: { headers?: Record<string, string> }) => ({ ...req, headers: { ...(req.headers ?? {}), 'X-Forwarded-For': nextIp() } });
    const realRun = (duration: number) => measure(server, { url: `${server.real}/api/v1/verify/${cert.token}`, connections: C, duration, setupRequest: perClient });
    const bareRun = (duration: number) => measure(server, { url: `${server.bare}/bare/verify/${serial}`, connections: C, duration, setupRequest: perClient });
    const { A, B } = await interleaved(['bare findOne', 'real verify'], () => bareRun(S.duration), () => realRun(S.duration), [() => bareRun(S.warmup), () => realRun(S.warmup)]);
    const baseline = median(A.map((r) => r.rps));
    const realRps = median(B.map((r) => r.rps));
    const ratio = realRps / baseline;
    const refused = sum(B, 'non2xx');
    return {
      row: {
        scenario: 'Verification',
        baselineLabel: 'bare findOne req/s',
        baseline,
        realLabel: 'GET /verify/:token req/s',
        real: realRps,
        ratio,
        target: '≥ 0.70×',
        pass: ratio >= 0.7,
        note: refused ? `${refused} non-2xx answers from the real endpoint (not counted as throughput)` : undefined,
      },
      detail: { certificates: S.certificates + 1, connections: C, baseline: A, real: B },
    };
  } finally {
    await conn.close();
    await server.stop();
  }
}

/* ---------- 5. pages ---------- */

/**
 * Server-rendered pages against a bare Express route sending a static HTML string of the same size:
 * what templates, escaping, the catalogue and the page middleware cost per request.
 */
async function pages(uri: string, keysDir: string): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  console.log('\n[5] Pages: GET / and GET /query vs a bare route sending a same-size static string');
  const server = await startServer(uri, DB_NAMES.pages, keysDir);
  try {
    const rows: Row[] = [];
    const detail: Record<string, unknown> = {};
    for (const [scenario, pagePath] of [['Home page', '/'], ['Case query page', '/query']] as const) {
      const res = await fetch(`${server.real}${pagePath}`, { headers: { Accept: 'text/html' } });
      const bytes = Buffer.byteLength(await res.text());
      if (res.status !== 200) throw new Error(`${pagePath} answered ${res.status}`);
      const bareBody = await (await fetch(`${server.bare}/bare/page/${bytes}`)).text();
      log(`${pagePath}: ${bytes} bytes of HTML; baseline string ${Buffer.byteLength(bareBody)} bytes`);
      const C = S.connections;
      const realRun = (duration: number) => measure(server, { url: `${server.real}${pagePath}`, connections: C, duration, headers: { Accept: 'text/html' } });
      const bareRun = (duration: number) => measure(server, { url: `${server.bare}/bare/page/${bytes}`, connections: C, duration });
      const { A, B } = await interleaved([`bare ${bytes} B string`, `real ${pagePath}`], () => bareRun(S.duration), () => realRun(S.duration), [() => bareRun(S.warmup), () => realRun(S.warmup)]);
      const baseline = median(A.map((r) => r.rps));
      const real = median(B.map((r) => r.rps));
      rows.push({ scenario, baselineLabel: 'bare static req/s', baseline, realLabel: `GET ${pagePath} req/s`, real, ratio: real / baseline, target: '≥ 0.50×', pass: real / baseline >= 0.5 });
      detail[pagePath] = { bytes, connections: C, baseline: A, real: B };
    }
    return { rows, detail };
  } finally {
    await server.stop();
  }
}

/* ---------- 3. officer queue ---------- */

function planStages(node: unknown): string {
  if (!node || typeof node !== 'object') return '';
  const n = node as Record<string, unknown>;
  const children = [n.inputStage, ...((n.inputStages as unknown[]) ?? []), n.queryPlan].filter(Boolean);
  const inner = children.map(planStages).filter(Boolean);
  const name = typeof n.stage === 'string' ? n.stage : '';
  if (!name) return inner.join(', ');
  return inner.length ? `${name}(${inner.join(', ')})` : name;
}

function findKey(obj: unknown, key: string, depth = 0): unknown {
  if (!obj || typeof obj !== 'object' || depth > 12) return undefined;
  const o = obj as Record<string, unknown>;
  if (key in o) return o[key];
  for (const v of Object.values(o)) {
    const found = findKey(v, key, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

async function explainQueue(conn: Connection, kind: string): Promise<Record<string, unknown>> {
  const models = createModels(conn);
  const principal = { role: 'officer', id: new Types.ObjectId().toString(), name: 'bench', channel: 'staff', level: 'township', jurisdiction: [OFFICER_TOWNSHIP] } as Principal;
  const filter = queueScope(principal);
  // The queries queue() makes: a page of slim queue entries, and their totals by type.
  const findExplain = (await models.QueueEntry.find(trustedFilter(filter), { _id: 1, queueDeadline: 1 }).sort(QUEUE_SORT).limit(20).explain('executionStats')) as unknown;
  const aggExplain = (await models.QueueEntry.aggregate([{ $match: trustedFilter(filter) }, { $group: { _id: '$type', count: { $sum: 1 } } }]).explain('executionStats')) as unknown;
  const summary = (e: unknown) => {
    const plan = findKey(e, 'winningPlan');
    const stats = findKey(e, 'executionStats') as Record<string, unknown> | undefined;
    return {
      winningPlan: plan ? planStages(plan) : undefined,
      nReturned: stats?.nReturned,
      totalKeysExamined: stats?.totalKeysExamined,
      totalDocsExamined: stats?.totalDocsExamined,
      // FerretDB's explain reports these instead of a MongoDB plan tree.
      filterPushdown: findKey(e, 'filterPushdown'),
      sortPushdown: findKey(e, 'sortPushdown'),
      limitPushdown: findKey(e, 'limitPushdown'),
      ferretdbPlan: kind === 'ferretdb' ? JSON.stringify(findKey(e, 'queryPlanner') ?? e).slice(0, 300) : undefined,
    };
  };
  return { find: summary(findExplain), totals: summary(aggExplain) };
}

async function officerQueue(uri: string, keysDir: string, kind: string): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const [s1, s2] = S.queueSizes as [number, number];
  console.log(`\n[3] Officer queue: GET /api/v1/queue and the workqueue page GET /officer (HTML, signed in on the pages) at ${s1} vs ${s2} applications`);
  log(`model: the officer's own open work is ${S.queueMine} applications at both sizes; the rest is other townships' open work (${S.queueOpenFraction * 100}%) and decided history`);
  type Side = { size: number; server: BenchServer; conn: Connection; auth: string; cookie: string; explain: Record<string, unknown> };
  const sides: (Side & { seedSeconds: number; total: number; pageBytes: number; pageRows: number })[] = [];
  try {
    for (const size of [s1, s2]) {
      const conn = await connect(uri, DB_NAMES.queue(size));
      await conn.db!.dropDatabase();
      const t0 = performance.now();
      // Each open application with its slim queue entry, as the application model's post hook writes it.
      const entries: Record<string, unknown>[] = [];
      const seeded = function* () {
        for (const doc of queueSeed(size, Math.min(S.queueMine, size), S.queueOpenFraction)) {
          const entry = entryOf(doc as unknown as Parameters<typeof entryOf>[0]);
          if (entry) entries.push(entry as unknown as Record<string, unknown>);
          yield doc as unknown as Record<string, unknown>;
        }
      };
      const n = await insertBatched(conn, 'applications', seeded());
      await insertBatched(conn, 'queue_entries', entries);
      const seedSeconds = (performance.now() - t0) / 1000;
      const server = await startServer(uri, DB_NAMES.queue(size), keysDir); // builds the indexes (ensureIndexes)
      const auth = await officer(server);
      const page = await api<{ items: unknown[]; totals?: Record<string, number> | { type: string; count: number }[] }>(server.real, 'GET', '/api/v1/queue', { auth });
      const total = Array.isArray(page.totals) ? page.totals.reduce((t, x) => t + x.count, 0) : Object.values(page.totals ?? {}).reduce((t, x) => t + Number(x), 0);
      const cookie = await officerSession(server);
      const html = await fetch(`${server.real}/officer`, { headers: { Accept: 'text/html', Cookie: cookie } });
      const text = await html.text();
      if (html.status !== 200) throw new Error(`the workqueue page answered ${html.status}`);
      const pageRows = new Set([...text.matchAll(/href="\/officer\/cases\/([0-9a-f]{24})"/g)].map((m) => m[1])).size;
      const explain = await explainQueue(conn, kind);
      log(`size ${size}: seeded ${n} applications and ${entries.length} queue entries in ${fmt(seedSeconds, 1)} s; officer's queue holds ${total}, first page ${page.items.length}; the workqueue page ${fmt(Buffer.byteLength(text) / 1024, 1)} kB with ${pageRows} cases`);
      const fe = explain.find as Record<string, unknown>;
      const te = explain.totals as Record<string, unknown>;
      if (kind === 'ferretdb') {
        log(`  explain: FerretDB — filterPushdown ${String(fe.filterPushdown)}, sortPushdown ${String(fe.sortPushdown)}, SQLite plan ${String(fe.ferretdbPlan).replace(/.*detail=([^"]*)".*/, '$1')}: no index pushdown, every queue query reads the whole queue_entries collection (open cases only)`);
      } else {
        log(`  explain page:   ${String(fe.winningPlan)}  keys ${String(fe.totalKeysExamined)} docs ${String(fe.totalDocsExamined)} returned ${String(fe.nReturned)}`);
        log(`  explain totals: ${String(te.winningPlan)}  keys ${String(te.totalKeysExamined)} docs ${String(te.totalDocsExamined)}`);
      }
      sides.push({ size, server, conn, auth, cookie, explain, seedSeconds, total, pageBytes: Buffer.byteLength(text), pageRows });
    }
    const C = S.queueConnections;
    const run = (i: number, duration: number, target: 'api' | 'page') => () =>
      measure(sides[i]!.server, {
        url: `${sides[i]!.server.real}${target === 'api' ? '/api/v1/queue' : '/officer'}`,
        connections: C,
        duration,
        minResponses: S.queueMinResponses,
        maxSeconds: S.queueMaxSeconds,
        headers: target === 'api' ? { Authorization: sides[i]!.auth } : { Cookie: sides[i]!.cookie, Accept: 'text/html' },
      });
    const { A, B } = await interleaved([`queue @${s1}`, `queue @${s2}`], run(0, S.duration, 'api'), run(1, S.duration, 'api'), [run(0, S.warmup, 'api'), run(1, S.warmup, 'api')]);
    const pages = await interleaved([`page @${s1}`, `page @${s2}`], run(0, S.duration, 'page'), run(1, S.duration, 'page'), [run(0, S.warmup, 'page'), run(1, S.warmup, 'page')]);
    const p1 = median(A.map((r) => r.p50));
    const p2 = median(B.map((r) => r.p50));
    const ratio = p2 / p1;
    const page1 = median(pages.A.map((r) => r.p50));
    const page2 = median(pages.B.map((r) => r.p50));
    const refused = sum(pages.A, 'non2xx') + sum(pages.B, 'non2xx');
    log(`workqueue page GET /officer, p50: ${fmt(page1, 1)} ms @${s1} | ${fmt(page2, 1)} ms @${s2} (target < 300 ms at 10,000 on the embedded database); API GET /api/v1/queue p50: ${fmt(p1, 1)} ms @${s1} | ${fmt(p2, 1)} ms @${s2}`);
    const plans = sides.map((s) => String((s.explain.find as Record<string, unknown>).winningPlan ?? ''));
    const collscan = plans.some((p) => /COLLSCAN/.test(p));
    return {
      rows: [
        {
          scenario: 'Officer queue',
          baselineLabel: `p50 ms @${s1}`,
          baseline: p1,
          realLabel: `p50 ms @${s2}`,
          real: p2,
          ratio,
          target: '≤ 1.50× (MongoDB)',
          pass: kind === 'ferretdb' ? null : ratio <= 1.5 && !collscan,
          note:
            kind === 'ferretdb'
              ? 'FerretDB: no index pushdown, so this ratio is a collection-scan ratio and says nothing about MongoDB'
              : `plan ${plans.join(' | ')}${collscan ? ' — COLLSCAN: not index-bound' : ''}`,
        },
        {
          scenario: 'Workqueue page',
          baselineLabel: `p50 ms @${s1}`,
          baseline: page1,
          realLabel: `p50 ms @${s2}`,
          real: page2,
          ratio: page2 / page1,
          target: '< 300 ms @ larger size',
          pass: page2 < 300 && refused === 0,
          note: `GET /officer as a signed-in township officer (${sides.map((s) => `${s.pageRows} cases, ${fmt(s.pageBytes / 1024, 1)} kB @${s.size}`).join('; ')})${refused ? `; ${refused} non-2xx answers` : ''}`,
        },
      ],
      detail: {
        sizes: [s1, s2],
        officerQueue: sides.map((s) => s.total),
        seedSeconds: sides.map((s) => s.seedSeconds),
        explain: Object.fromEntries(sides.map((s) => [s.size, s.explain])),
        connections: C,
        small: A,
        large: B,
        rpsSmall: median(A.map((r) => r.rps)),
        rpsLarge: median(B.map((r) => r.rps)),
        page: { small: pages.A, large: pages.B, p50: [page1, page2], bytes: sides.map((s) => s.pageBytes), cases: sides.map((s) => s.pageRows) },
      },
    };
  } finally {
    for (const s of sides) {
      await s.conn.close();
      await s.server.stop();
    }
  }
}

/* ---------- 6. PDF previews ---------- */

/** [6] The officer's PDF previews: a typical scan of 1–3 pages drawn as the service draws it (bench/preview.ts). */
async function pdfPreviews(): Promise<{ row: Row; detail: Record<string, unknown> }> {
  console.log('\n[6] PDF previews: A4 scans at 300 dpi (JPEG), 1–3 pages, drawn to PNG in a worker thread under the service\'s limits (bench/preview.ts)');
  log('the worker loads TypeScript through tsx here; the compiled service starts it faster');
  const figures = await previewBench(S.rounds);
  const three = figures.at(-1)!;
  return {
    row: {
      scenario: 'PDF preview (3-page scan)',
      baselineLabel: 'ms, 1 page',
      baseline: figures[0]!.medianMs,
      realLabel: 'ms, 3 pages',
      real: three.medianMs,
      ratio: NaN,
      target: `< ${PREVIEW_LIMITS.timeoutMs / 1000} s deadline`,
      pass: three.medianMs < PREVIEW_LIMITS.timeoutMs,
      note: `RSS grew by at most ${fmt(Math.max(...figures.map((f) => f.peakRssGrowthMB)))} MB while drawing; drawn once per document, then kept`,
    },
    detail: { figures },
  };
}

/* ---------- 4. upload memory ---------- */

/** [5] PDF certificates, in a child process of their own (bench/pdf.ts): one core, its own memory. */
async function pdfGeneration(): Promise<{ row: Row; detail: Record<string, unknown> }> {
  console.log('\n[5] PDF certificates: signed A4 certificates per second on one core, memory over 100 in a row (bench/pdf.ts, own process)');
  const { execFileSync } = await import('node:child_process');
  const run = (prewarm: boolean): PdfBench => {
    const env = { ...process.env, BENCH_PDF_PREWARM: prewarm ? '1' : '0' };
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(__dirname, 'pdf.ts')], { encoding: 'utf8', maxBuffer: 1 << 20, env });
    return JSON.parse(out.trim().split('\n').at(-1)!) as PdfBench;
  };
  const r = run(false);
  log(`first PDF ${fmt(r.firstMs)} ms (instancing the font slices), then ${fmt(r.pdfsPerSecond, 1)} PDFs/s, ${fmt(r.bytes / 1024)} KB each`);
  // The server pre-warms the fonts once it listens (service/server.ts): the first PDF a person asks for then finds them ready.
  const warm = run(true);
  log(`with the fonts pre-warmed as the server does at start (${fmt(warm.prewarmMs ?? 0)} ms in the background): first PDF ${fmt(warm.firstMs)} ms`);
  log(`RSS after the first ${r.rssMB.afterFirst} MB, after 10 ${r.rssMB.after10} MB, peak ${r.rssMB.peak} MB, after 100 ${r.rssMB.after100} MB; heap after 10 → 100: ${r.heapMB.after10} → ${r.heapMB.after100} MB`);
  const growthOk = r.growthAfter10MB < 5;
  return {
    row: {
      scenario: 'PDF certificates',
      baselineLabel: 'bare pdf-lib pages/s',
      baseline: r.baselinePerSecond,
      realLabel: 'signed PDFs/s',
      real: r.pdfsPerSecond,
      ratio: r.pdfsPerSecond / r.baselinePerSecond,
      target: 'no heap growth after 10',
      pass: growthOk,
      note: `heap grew ${r.growthAfter10MB} MB from the 10th to the 100th PDF; peak RSS ${r.rssMB.peak} MB`,
    },
    detail: { ...r, firstAfterPrewarmMs: warm.firstMs, prewarmMs: warm.prewarmMs } as unknown as Record<string, unknown>,
  };
}

async function uploadMemory(uri: string, keysDir: string): Promise<{ row: Row; detail: Record<string, unknown> }> {
  const mb = S.uploadBytes / 1e6;
  console.log(`\n[4] Upload memory: ${S.uploads} × ${mb} MB concurrently to POST /api/v1/applications/:id/documents vs bare pipe to /dev/null`);
  log('each burst runs in a freshly started server after one warm-up upload, so no burst inherits memory another one left');
  type Burst = { growthMB: number; baselineMB: number; peakMB: number; seconds: number; MBps: number; statuses: Record<number, number>; samples: number };
  let auth = '';
  const ids: string[] = [];
  let warmId = '';
  {
    const server = await startServer(uri, DB_NAMES.upload, keysDir);
    try {
      const who = await applicant(server);
      auth = who.auth;
      const create = async () => (await api<{ id: string }>(server.real, 'POST', '/api/v1/applications', { auth, body: { type: 'birth-service', form: formOf(who) }, expect: 201 })).id;
      for (let i = 0; i < S.uploads; i += 1) ids.push(await create());
      warmId = await create();
    } finally {
      await server.stop();
    }
  }
  const burst = async (real: boolean, round: number): Promise<Burst> => {
    const server = await startServer(uri, DB_NAMES.upload, keysDir);
    try {
      const kind = KINDS[round % KINDS.length]!;
      const one = (id: string) =>
        real ? streamUpload(`${server.real}/api/v1/applications/${id}/documents`, { auth, kind, size: S.uploadBytes }) : streamUpload(`${server.bare}/bare/upload`, { kind, size: S.uploadBytes });
      const warm = await one(warmId);
      if (warm.status !== 201) throw new Error(`warm-up upload answered ${warm.status}: ${warm.body.slice(0, 200)}`);
      const start = (await server.call('mem-start')) as { baseline: number };
      const t0 = performance.now();
      const results = await Promise.all(ids.map(one));
      const seconds = (performance.now() - t0) / 1000;
      const mem = (await server.call('mem-stop')) as { baseline: number; peak: number; samples: number };
      const statuses: Record<number, number> = {};
      for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      const bad = results.find((r) => r.status !== 201);
      if (bad) log(`  an upload answered ${bad.status}: ${bad.body.slice(0, 200)}`);
      return {
        growthMB: (mem.peak - start.baseline) / 1048576,
        baselineMB: start.baseline / 1048576,
        peakMB: mem.peak / 1048576,
        seconds,
        MBps: (ids.length * S.uploadBytes) / 1e6 / seconds,
        statuses,
        samples: mem.samples,
      };
    } finally {
      await server.stop();
    }
  };
  const bare: Burst[] = [];
  const real: Burst[] = [];
  for (let i = 0; i < S.uploadRounds; i += 1) {
    const order: [boolean, Burst[]][] = i % 2 === 0 ? [[false, bare], [true, real]] : [[true, real], [false, bare]];
    for (const [isReal, into] of order) {
      const b = await burst(isReal, i);
      into.push(b);
      log(`round ${i + 1} ${(isReal ? 'real upload' : 'bare pipe').padEnd(12)} rss ${fmt(b.baselineMB)} → peak ${fmt(b.peakMB)} MB: +${fmt(b.growthMB, 1)} MB in ${fmt(b.seconds, 2)} s (${fmt(b.MBps)} MB/s) ${JSON.stringify(b.statuses)}`);
    }
  }
  const worstReal = Math.max(...real.map((b) => b.growthMB));
  const medBare = median(bare.map((b) => b.growthMB));
  const medReal = median(real.map((b) => b.growthMB));
  const allStored = real.every((b) => b.statuses[201] === S.uploads);
  return {
    row: {
      scenario: 'Upload memory',
      baselineLabel: 'bare pipe RSS growth MB',
      baseline: medBare,
      realLabel: 'real upload RSS growth MB (worst)',
      real: worstReal,
      ratio: NaN,
      target: '< 64 MB',
      pass: worstReal < 64 && allStored,
      note: `median real growth ${fmt(medReal, 1)} MB; throughput real ${fmt(median(real.map((b) => b.MBps)))} MB/s vs bare ${fmt(median(bare.map((b) => b.MBps)))} MB/s${allStored ? '' : '; NOT every upload was stored (see statuses)'}`,
    },
    detail: { uploads: S.uploads, bytes: S.uploadBytes, bare, real, medianRealGrowthMB: medReal },
  };
}

/* ---------- main ---------- */

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`fpc benchmarks — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GB, node ${process.version}`);
  const quiet = { info: (o: object, m?: string) => (process.env.DEBUG_DB ? console.log(m, o) : undefined), warn: (o: object, m?: string) => console.warn(`  ${m ?? JSON.stringify(o)}`), error: console.error };
  const database: DatabaseHandle = await resolveDatabase({ mongodbUri: process.env.MONGODB_URI, logger: quiet });
  const kind = database.kind;
  // On FerretDB the queue reads its slim entries (open cases only), so the sizes are the issue's:
  // the workqueue page at 1,000 and 10,000 stored applications.
  S.queueSizes = envList('BENCH_QUEUE_SIZES', kind === 'ferretdb' ? [1_000, 10_000] : [10_000, 1_000_000]);
  S.queueMine = envInt('BENCH_QUEUE_MINE', Math.min(200, Math.floor(S.queueSizes[0]! / 2)));
  const dbNote =
    kind === 'ferretdb'
      ? 'FerretDB 1.24 over SQLite: no index pushdown (queries scan), writes serialised per collection in-process. Absolute numbers and the queue ratio say little about MongoDB; run with MONGODB_URI (or a mongod) and BENCH_QUEUE_SIZES=10000,1000000 for the real check.'
      : kind === 'uri'
        ? 'MongoDB from MONGODB_URI (databases fpc_bench_* are created and dropped)'
        : 'MongoDB (mongod started by mongodb-memory-server)';
  console.log(`database: ${kind} — ${dbNote}`);
  console.log(
    `settings: ${S.rounds} rounds × ${S.duration} s per side (warm-up ${S.warmup} s), ${S.connections} connections; queue sizes ${S.queueSizes.join(' / ')}, ${S.queueConnections} connections; uploads ${S.uploads} × ${S.uploadBytes} B × ${S.uploadRounds} rounds`,
  );

  const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-bench-keys-'));
  loadKeys(keysDir, true);
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const dropAll = async () => {
    const conn = await connect(database.uri, 'fpc_bench_submit');
    try {
      for (const name of [DB_NAMES.submit, DB_NAMES.verify, DB_NAMES.upload, DB_NAMES.pages, ...S.queueSizes.map(DB_NAMES.queue)]) await conn.useDb(name).dropDatabase();
    } finally {
      await conn.close();
    }
  };
  try {
    await dropAll();
    const one = (r: { row: Row; detail: Record<string, unknown> }) => ({ rows: [r.row], detail: r.detail });
    const scenarios: [string, () => Promise<{ rows: Row[]; detail: Record<string, unknown> }>][] = [
      ['submit', () => submission(database.uri, keysDir).then(one)],
      ['verify', () => verification(database.uri, keysDir).then(one)],
      ['queue', () => officerQueue(database.uri, keysDir, kind)],
      ['upload', () => uploadMemory(database.uri, keysDir).then(one)],
      ['pdf', () => pdfGeneration().then(one)],
      ['preview', () => pdfPreviews().then(one)],
    ];
    for (const [name, run] of scenarios) {
      if (!S.only.includes(name)) continue;
      try {
        const result = await run();
        rows.push(...result.rows);
        details[name] = result.detail;
      } catch (err) {
        console.error(`  ${name} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        details[name] = { error: err instanceof Error ? err.message : String(err) };
      }
    }
    if (S.only.includes('pages')) {
      try {
        const { rows: pageRows, detail } = await pages(database.uri, keysDir);
        rows.push(...pageRows);
        details.pages = detail;
      } catch (err) {
        console.error(`  pages failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        details.pages = { error: err instanceof Error ? err.message : String(err) };
      }
    }
    await dropAll().catch(() => undefined);
  } finally {
    await database.stop();
    fs.rmSync(keysDir, { recursive: true, force: true });
  }

  const header = ['scenario', 'baseline', 'real', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.scenario,
    `${fmt(r.baseline, r.baseline < 100 ? 1 : 0)} ${r.baselineLabel}`,
    `${fmt(r.real, r.real < 100 ? 1 : 0)} ${r.realLabel}`,
    Number.isFinite(r.ratio) ? `${fmt(r.ratio, 2)}×` : '—',
    r.target,
    r.pass === null ? 'n/a (FerretDB)' : r.pass ? 'pass' : 'MISS',
  ]);
  console.log(`\nResults (database: ${kind}; medians of ${S.rounds} interleaved rounds${kind === 'ferretdb' ? '; FerretDB — see the note above before reading the ratios' : ''})\n`);
  console.log(table([header, ...body]));
  for (const r of rows) if (r.note) console.log(`  ${r.scenario}: ${r.note}`);
  const seconds = (performance.now() - started) / 1000;
  console.log(`\ntook ${fmt(seconds)} s`);

  const out = path.join(__dirname, 'results', 'latest.json');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(
    out,
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.release()}` },
        database: { kind, note: dbNote },
        settings: S,
        results: rows,
        details,
        seconds,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`written ${path.relative(process.cwd(), out)}`);
}

// `npm run bench -- --scale`: the embedded database at 1,000 / 10,000 / 50,000 applications (bench/scale.ts).
(process.argv.includes('--scale') ? scaleBench() : main())
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    // Everything is stopped by now; a driver socket lingering in keep-alive must not hold the run.
    setTimeout(() => process.exit(), 5_000).unref();
  });
