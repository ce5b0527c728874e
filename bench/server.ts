/**
 * The process under measurement, forked by bench/run.ts (the load generator lives in the parent,
 * as in fastify/benchmarks, so the two do not share an event loop). It serves two apps on loopback
 * ports, both on the same database connection:
 *   - the real service, built by createApp(buildContext(...)) exactly as tests build it;
 *   - a bare Express app (express.json() and nothing else) whose routes do only the database work
 *     the real endpoint is compared with, through the driver directly.
 * It also samples its own resident memory on request (upload scenario).
 *
 * Environment: BENCH_DB_URI, BENCH_DB_NAME, BENCH_KEYS_DIR.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import express from 'express';
import { createApp } from '../service/app';
import { createStaff } from '../service/accounts/accounts.service';
import { loadConfig } from '../service/config';
import { connect } from '../service/lib/database';
import { loadKeys } from '../service/lib/keys';
import { createLogger } from '../service/lib/logger';
import { buildContext } from '../service/runtime';
import { MemoryNotifier } from '../service/notifications/notifier';
import { OFFICER_TOWNSHIP, submittedDoc } from './shapes';

type Message = { id: number; type: string; [k: string]: unknown };

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (bench/server.ts is started by bench/run.ts)`);
  return v;
};

function listen(handler: http.RequestListener): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(handler);
    server.keepAliveTimeout = 60_000;
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-bench-'));
  const config = loadConfig({
    NODE_ENV: 'test',
    KEYS_DIR: env('BENCH_KEYS_DIR'),
    UPLOADS_DIR: path.join(tmp, 'uploads'),
    DATA_DIR: tmp,
    // Load comes from one loopback address; each simulated client names itself in X-Forwarded-For
    // (one trusted hop), so per-address rate limits count per client as behind a real proxy.
    TRUST_PROXY_HOPS: '1',
    LOG_LEVEL: 'silent',
  });
  const conn = await connect(env('BENCH_DB_URI'), env('BENCH_DB_NAME'));
  // Texts stay in memory: the driver reads registration codes from here, as a resident reads a phone.
  const sms = new MemoryNotifier();
  const ctx = await buildContext(config, createLogger('silent'), conn, { keys: loadKeys(config.keysDir, true), notifier: sms });
  const db = conn.db!;

  const bare = express();
  bare.disable('x-powered-by');
  bare.use(express.json());
  // Submission baseline: one insert of a document shaped like a submitted application.
  bare.post('/bare/applications/submit', async (_req, res) => {
    const doc = submittedDoc({ division: `${OFFICER_TOWNSHIP}201`, status: 'pending' });
    await db.collection('bare_applications').insertOne(doc);
    res.status(200).json({ id: doc._id.toString(), number: doc.number, status: doc.status });
  });
  // Verification baseline: one lookup by serial, answered as JSON.
  bare.get('/bare/verify/:serial', async (req, res) => {
    const cert = await db.collection('certificates').findOne({ serial: String(req.params.serial) });
    if (!cert) return void res.status(404).json({ status: 'invalid' });
    res.json({ status: cert.status, serial: cert.serial, type: cert.type, issuedAt: cert.issuedAt, validUntil: cert.validUntil });
  });
  // Page baseline: a static HTML string of the real page's size, sent as Express sends a page.
  const statics = new Map<number, string>();
  bare.get('/bare/page/:bytes', (req, res) => {
    const bytes = Math.min(Number(req.params.bytes) || 0, 1_000_000);
    if (!statics.has(bytes)) statics.set(bytes, `<!doctype html><html><body>${'页'.repeat(Math.max(0, Math.floor((bytes - 40) / 3)))}</body></html>`);
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(statics.get(bytes));
  });
  // Upload baseline: the request body streamed to /dev/null, nothing parsed, nothing stored.
  bare.post('/bare/upload', async (req, res) => {
    await pipeline(req, fs.createWriteStream('/dev/null'));
    res.status(201).json({ ok: true });
  });
  bare.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: String(err) });
  });

  // Requests whose handler has not ended its response yet. A load run that stops on time leaves
  // work queued in the server; the driver waits for this to reach zero before the next run.
  let inFlight = 0;
  const counted =
    (app: express.Express): http.RequestListener =>
    (req, res) => {
      inFlight += 1;
      let done = false;
      const end = res.end.bind(res);
      const finish = (): void => {
        if (!done) {
          done = true;
          inFlight -= 1;
        }
      };
      res.end = ((...args: Parameters<typeof res.end>) => {
        finish();
        return end(...args);
      }) as typeof res.end;
      res.once('finish', finish);
      app(req, res);
    };
  const realServer = await listen(counted(createApp(ctx)));
  const bareServer = await listen(counted(bare));

  let sampler: NodeJS.Timeout | undefined;
  let peak = 0;
  let baseline = 0;
  let samples = 0;
  const gc = (globalThis as { gc?: () => void }).gc;

  const reply = (m: Message, body: Record<string, unknown>): void => {
    process.send!({ id: m.id, body });
  };

  process.on('message', (m: Message) => {
    void (async () => {
      try {
        switch (m.type) {
          case 'staff': {
            const username = `bench${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
            const password = 'bench-officer-password';
            await createStaff(ctx, { username, password, name: '王芳', ...(m.spec as { role: 'officer'; level: 'township'; jurisdiction: string[] }) });
            reply(m, { username, password });
            break;
          }
          case 'code': {
            reply(m, { code: await sms.lastCode(String(m.phone)) });
            break;
          }
          case 'idle': {
            const until = Date.now() + Number(m.timeoutMs ?? 60_000);
            while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
            reply(m, { inFlight });
            break;
          }
          case 'mem-start': {
            gc?.();
            await new Promise((r) => setTimeout(r, 200));
            gc?.();
            baseline = process.memoryUsage().rss;
            peak = baseline;
            samples = 0;
            sampler = setInterval(() => {
              const rss = process.memoryUsage().rss;
              samples += 1;
              if (rss > peak) peak = rss;
            }, 50);
            reply(m, { baseline });
            break;
          }
          case 'mem-stop': {
            clearInterval(sampler);
            const rss = process.memoryUsage().rss;
            if (rss > peak) peak = rss;
            reply(m, { baseline, peak, samples });
            break;
          }
          case 'shutdown': {
            realServer.closeAllConnections();
            bareServer.closeAllConnections();
            await Promise.all([new Promise((r) => realServer.close(r)), new Promise((r) => bareServer.close(r))]);
            await conn.close();
            fs.rmSync(tmp, { recursive: true, force: true });
            reply(m, {});
            process.disconnect();
            setTimeout(() => process.exit(0), 100).unref();
            break;
          }
          default:
            reply(m, { error: `unknown message ${m.type}` });
        }
      } catch (err) {
        reply(m, { error: err instanceof Error ? err.stack ?? err.message : String(err) });
      }
    })();
  });

  process.send!({
    id: 0,
    type: 'ready',
    realPort: (realServer.address() as AddressInfo).port,
    barePort: (bareServer.address() as AddressInfo).port,
  });
}

main().catch((err: unknown) => {
  console.error('bench server failed:', err);
  process.exit(1);
});
