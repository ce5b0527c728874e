import type { AppContext } from '../context';
import type { RouteDef } from '../lib/routes';
import { AppError } from '../lib/errors';
import { calendarHorizon, chinaDate } from '../lib/workdays';

/**
 * How far the official holiday calendar reaches. Deadlines beyond it are refused, so an operator
 * must add next year's schedule before the longest time limit crosses into it (about 30 days).
 */
export function calendarStatus(now: Date): { coversUntil: string; daysLeft: number; warning?: string } {
  const { last } = calendarHorizon();
  const daysLeft = Math.round((Date.parse(`${last}T00:00:00Z`) - Date.parse(`${chinaDate(now)}T00:00:00Z`)) / 86_400_000);
  return {
    coversUntil: last,
    daysLeft,
    ...(daysLeft < 45 ? { warning: 'add next year’s official holiday schedule to schemas/calendar/ (see its README) before deadlines cross the horizon' } : {}),
  };
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
          res.json({ status: 'ready', database: 'ok', calendar: calendarStatus(ctx.clock.now()) });
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
