import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';

/* ---------- numbers ---------- */

export function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

export function envList(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const xs = raw.split(',').map((x) => Number(x.trim()));
  if (xs.length !== 2 || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${name} must be two sizes, e.g. 10000,1000000; got "${raw}"`);
  return xs;
}

/** Client addresses for X-Forwarded-For: 10.0.0.1 upwards, each used once per 16 million requests. */
let ipCounter = 0;
export function nextIp(): string {
  ipCounter = (ipCounter + 1) % 0xffffff || 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

/* ---------- the process under measurement ---------- */

export interface BenchServer {
  real: string;
  bare: string;
  call(type: string, payload?: Record<string, unknown>): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Forks bench/server.ts (under the same tsx loader, with --expose-gc) on one database name. */
export function startServer(uri: string, dbName: string, keysDir: string): Promise<BenchServer> {
  const child: ChildProcess = fork(path.join(__dirname, 'server.ts'), [], {
    execArgv: [...process.execArgv, '--expose-gc'],
    env: { ...process.env, BENCH_DB_URI: uri, BENCH_DB_NAME: dbName, BENCH_KEYS_DIR: keysDir },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench server on ${dbName} did not start within 120 s`));
    }, 120_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      for (const p of pending.values()) p.reject(new Error(`bench server exited (${code})`));
      pending.clear();
      reject(new Error(`bench server on ${dbName} exited with ${code}`));
    });
    child.on('message', (raw) => {
      const m = raw as { id: number; type?: string; body?: Record<string, unknown> & { error?: string }; [k: string]: unknown };
      if (m.id === 0 && m.type === 'ready') {
        clearTimeout(timer);
        resolve({
          real: `http://127.0.0.1:${m.realPort as number}`,
          bare: `http://127.0.0.1:${m.barePort as number}`,
          call: (type, payload = {}) =>
            new Promise((res, rej) => {
              const id = nextId++;
              pending.set(id, { resolve: res, reject: rej });
              child.send({ id, type, ...payload });
            }),
          stop: async () => {
            if (child.exitCode !== null) return;
            const exited = new Promise<void>((r) => child.once('exit', () => r()));
            const id = nextId++;
            child.send({ id, type: 'shutdown' });
            const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
            await exited;
            clearTimeout(kill);
          },
        });
        return;
      }
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.body?.error) p.reject(new Error(String(m.body.error)));
      else p.resolve(m.body ?? {});
    });
  });
}

/* ---------- HTTP helpers for setting up data through the real API ---------- */

export async function api<T = Record<string, unknown>>(
  base: string,
  method: string,
  urlPath: string,
  opts: { auth?: string; body?: unknown; form?: FormData; expect?: number | number[] } = {},
): Promise<T> {
  const headers: Record<string, string> = { 'X-Forwarded-For': nextIp() };
  if (opts.auth) headers.Authorization = opts.auth;
  let body: string | FormData | undefined;
  if (opts.form) body = opts.form;
  else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(base + urlPath, { method, headers, body });
  const text = await res.text();
  const expect = opts.expect ?? (method === 'POST' ? [200, 201] : [200]);
  const ok = Array.isArray(expect) ? expect.includes(res.status) : res.status === expect;
  if (!ok) throw new Error(`${method} ${urlPath} answered ${res.status}: ${text.slice(0, 400)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

/* ---------- load ---------- */

export interface LoadResult {
  /** Successful (2xx) responses per second, over the time from start to the last response. */
  rps: number;
  /** Median latency of all responses (ms). */
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  seconds: number;
  codes: Record<string, number>;
  /** Seconds the server still worked on requests the run had left queued when it stopped. */
  drain?: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Upper bound in time (s). */
  duration: number;
  /** Upper bound in count; the run ends at whichever comes first. */
  maxRequests?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: autocannon.Request['setupRequest'];
  /**
   * For slow endpoints: run past `duration` until this many responses have come, but never past
   * `maxSeconds`.
   */
  minResponses?: number;
  maxSeconds?: number;
}

/** One load run, then a wait until the server has finished whatever the run left queued. */
export async function measure(server: BenchServer, opts: LoadOptions): Promise<LoadResult> {
  const r = await load(opts);
  const t0 = performance.now();
  const idle = (await server.call('idle', { timeoutMs: 120_000 })) as { inFlight: number };
  r.drain = (performance.now() - t0) / 1000;
  if (idle.inFlight > 0) console.warn(`  warning: ${idle.inFlight} requests still in flight 120 s after the run`);
  return r;
}

export function load(opts: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    let ok = 0;
    let last = 0;
    const t0 = performance.now();
    const request: autocannon.Request = { method: opts.method ?? 'GET', headers: opts.headers, body: opts.body };
    if (opts.setupRequest) request.setupRequest = opts.setupRequest;
    const extend = opts.minResponses !== undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const instance = autocannon(
      {
        url: opts.url,
        connections: opts.connections,
        duration: extend ? Math.max(opts.duration, opts.maxSeconds ?? opts.duration) : opts.duration,
        ...(opts.maxRequests ? { maxOverallRequests: opts.maxRequests } : {}),
        timeout: 30,
        sampleInt: 250,
        requests: [request],
      },
      (err, result) => {
        clearTimeout(timer);
        if (err) return reject(err);
        const seconds = Math.max(1e-3, (last || performance.now()) - t0) / 1000;
        const codes: Record<string, number> = {};
        for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) codes[code] = Number(v.count);
        resolve({ rps: ok / seconds, p50: result.latency.p50, p99: result.latency.p99, ok, non2xx: result.non2xx, errors: result.errors, seconds, codes });
      },
    );
    const enough = (): boolean => performance.now() - t0 >= opts.duration * 1000 && ok >= (opts.minResponses ?? 0);
    const maybeStop = (): void => {
      if (extend && !stopped && enough()) {
        stopped = true;
        instance.stop();
      }
    };
    if (extend) timer = setTimeout(maybeStop, opts.duration * 1000);
    instance.on('response', (_client: unknown, statusCode: number) => {
      if (statusCode >= 200 && statusCode < 300) ok += 1;
      last = performance.now();
      maybeStop();
    });
  });
}

/* ---------- uploads ---------- */

/**
 * Streams one multipart upload of `size` bytes (a PDF header, random filler, an EOF marker) with a
 * known Content-Length, honouring back-pressure, so the client never holds the file in memory.
 */
export function streamUpload(url: string, opts: { auth?: string; kind: string; size: number }): Promise<{ status: number; body: string; ms: number }> {
  const boundary = `----fpcbench${crypto.randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n${opts.kind}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${opts.kind}.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const pdfStart = Buffer.from('%PDF-1.4\n');
  const pdfEnd = Buffer.from('\n%%EOF\n');
  const filler = crypto.randomBytes(64 * 1024);
  const u = new URL(url);
  const headers: Record<string, string | number> = {
    'Content-Type': `multipart/form-data; boundary=${boundary}`,
    'Content-Length': head.length + opts.size + tail.length,
    'X-Forwarded-For': nextIp(),
  };
  if (opts.auth) headers.Authorization = opts.auth;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    void (async () => {
      const write = (b: Buffer): Promise<void> => (req.write(b) ? Promise.resolve() : new Promise((r) => req.once('drain', () => r())));
      await write(head);
      await write(pdfStart);
      let left = opts.size - pdfStart.length - pdfEnd.length;
      while (left > 0 && !req.destroyed) {
        const n = Math.min(left, filler.length);
        await write(n === filler.length ? filler : filler.subarray(0, n));
        left -= n;
      }
      await write(pdfEnd);
      req.end(tail);
    })().catch(reject);
  });
}

/* ---------- printing ---------- */

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '—');
