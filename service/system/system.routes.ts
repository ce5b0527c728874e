import type { AppContext } from '../context';
import type { RouteDef } from '../lib/routes';
import { AppError } from '../lib/errors';
import { calendarStatus } from '../lib/workdays';
import { countProvisionalDeadlines } from '../applications/applications.service';

/** Readiness is polled often; the count of provisional deadlines is a scan, so it is kept a minute. */
const PROVISIONAL_COUNT_TTL_MS = 60_000;
const provisionalCounts = new WeakMap<object, { at: number; count: number }>();

async function provisionalDeadlines(ctx: Pick<AppContext, 'models' | 'clock'>): Promise<number> {
  const now = ctx.clock.now().getTime();
  const cached = provisionalCounts.get(ctx.models);
  if (cached && now - cached.at < PROVISIONAL_COUNT_TTL_MS && now >= cached.at) return cached.count;
  const count = await countProvisionalDeadlines(ctx);
  provisionalCounts.set(ctx.models, { at: now, count });
  return count;
}

/** Is the database answering? A ping with a short deadline, so a hung server reads as down. */
export async function databaseReady(ctx: Pick<AppContext, 'conn'>): Promise<boolean> {
  const db = ctx.conn.db;
  if (ctx.conn.readyState !== 1 || !db) return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.command({ ping: 1 }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('ping timeout')), 1500);
      }),
    ]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function systemRoutes(ctx: AppContext): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process is up',
      tags: ['system'],
      responses: { '200': { description: 'Up' } },
      handlers: [(_req, res) => void res.json({ status: 'ok' })],
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: the database answers',
      tags: ['system'],
      responses: { '200': { description: 'Ready' }, '503': { description: 'Database unavailable' } },
      handlers: [
        async (_req, res) => {
          if (!(await databaseReady(ctx))) throw new AppError('database_unavailable');
          const calendar = calendarStatus(ctx.clock.now());
          res.json({ status: 'ready', database: 'ok', calendar: { ...calendar, provisionalDeadlines: await provisionalDeadlines(ctx) } });
        },
      ],
    },
    {
      method: 'get',
      path: '/.well-known/jwks.json',
      summary: 'Public keys that verify certificate tokens offline',
      tags: ['certificates'],
      responses: { '200': { description: 'JSON Web Key Set' } },
      handlers: [
        (_req, res) => {
          res.setHeader('Cache-Control', 'public, max-age=300');
          res.json({ keys: ctx.keys.certificate.publicJwks() });
        },
      ],
    },
  ];
}
