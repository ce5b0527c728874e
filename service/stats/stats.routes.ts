import type { AppContext } from '../context';
import { TYPE_CODE } from '../catalogue/catalogue';
import { principalOf } from '../lib/auth';
import { AppError } from '../lib/errors';
import type { RouteDef } from '../lib/routes';
import { chinaDate, DATE_PATTERN } from '../lib/workdays';
import { computeStats, MAX_PERIOD_DAYS, statsCsv } from './stats.service';

/** Calendar days from `from` to `to`, both included. */
const periodDays = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;


const statsQuery = {
  $id: 'urn:fpc:query:stats',
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', pattern: DATE_PATTERN, description: 'first day of the period (China calendar date, included); default: the first day of the month of `to`' },
    to: { type: 'string', pattern: DATE_PATTERN, description: 'last day of the period (included); default: today in China' },
    type: TYPE_CODE,
    division: { type: 'string', pattern: '^\\d{2,12}$', description: 'division-code prefix; narrows the caller’s own jurisdiction, never widens it' },
  },
};

const counts = {
  type: 'object',
  properties: {
    received: { type: 'integer', description: 'first submitted in the period' },
    decided: { type: 'integer', description: 'approved + rejected in the period (final decisions)' },
    approved: { type: 'integer', description: 'finally approved in the period' },
    returned: { type: 'integer', description: 'returned for supplement, latest return in the period' },
    rejected: { type: 'integer', description: 'rejected in the period' },
    withdrawn: { type: 'integer', description: 'withdrawn in the period after submission' },
  },
};
const rate = (description: string) => ({ type: ['number', 'null'], description: `${description}; null when there is nothing to divide by` });

const statsSchema = {
  type: 'object',
  description: 'Figures for the caller’s jurisdiction (admin: all) over the period; docs/stats.md defines each one.',
  properties: {
    period: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } },
    scope: { type: 'object' },
    counts: {
      type: 'object',
      description: 'Counts in total and by type, stage (township/county: for received the first stage, otherwise the stage the application is at or decided at) and channel (online/terminal)',
      properties: { total: counts, byType: { type: 'object', additionalProperties: counts }, byStage: { type: 'object', additionalProperties: counts }, byChannel: { type: 'object', additionalProperties: counts } },
    },
    timeliness: {
      type: 'object',
      properties: {
        stageDecisions: { type: 'integer', description: 'stage decisions in the period (a stage approved or rejected; returns are not decisions)' },
        onTimeCommitted: { type: 'integer', description: 'stage decisions made on or before the stage’s committed deadline (extended by the time spent returned)' },
        onTimeCommittedRate: rate('onTimeCommitted / (stageDecisions + lateOpenCommitted)'),
        onTimeStatutory: { type: 'integer', description: 'stage decisions made on or before the stage’s statutory deadline' },
        onTimeStatutoryRate: rate('onTimeStatutory / (stageDecisions + lateOpenStatutory)'),
        lateOpenCommitted: { type: 'integer', description: 'pending or in review now, whose current stage’s committed deadline fell in the period and has passed: late already, counted against the rate' },
        lateOpenStatutory: { type: 'integer', description: 'the same against the statutory deadline' },
        finalDecisions: { type: 'integer', description: 'applications approved or rejected in the period' },
        within3WorkingDays: { type: 'integer', description: 'final decisions made within 3 working days of the first submission (paused working days excluded)' },
        within3WorkingDaysShare: rate('within3WorkingDays / finalDecisions'),
        medianWorkingDays: { type: ['number', 'null'], description: 'median working days from first submission to final decision, paused days excluded (mean of the two middle values for an even count)' },
        p90WorkingDays: { type: ['integer', 'null'], description: '90th percentile of the same, nearest rank (the ⌈0.9·n⌉-th smallest)' },
      },
    },
    overdueNow: {
      type: 'object',
      properties: {
        committed: { type: 'integer', description: 'pending or in review now, past the current stage’s committed deadline' },
        statutory: { type: 'integer', description: 'pending or in review now, past the current stage’s statutory deadline' },
      },
    },
    backlogNow: { type: 'integer', description: 'pending or in review now (the backlog), whatever the deadline' },
    complaints: {
      type: 'object',
      properties: {
        received: { type: 'integer', description: 'complaints filed in the period' },
        answered: { type: 'integer', description: 'of the complaints received in the period, those answered by now' },
        answeredOnTime: { type: 'integer', description: 'of the complaints received in the period, those answered by their response deadline (5 working days)' },
        answerRate: rate('answered / received'),
        onTimeAnswerRate: rate('answeredOnTime / received: an unanswered complaint counts as not on time'),
        openNow: { type: 'integer', description: 'complaints not answered yet' },
        overdueNow: { type: 'integer', description: 'open complaints past their response deadline' },
      },
    },
    ratings: {
      type: 'object',
      description:
        'Ratings (好差评) given in the period: received, byScore (1 非常不满意 … 5 非常满意), satisfied (3–5) and satisfactionRate = satisfied / received, bad (1–2), followedUp and followedUpOnTime, followUpRate = followedUp / bad',
    },
    certificates: {
      type: 'object',
      description: 'Certificates by the issuing authority in scope: issued, revoked and expired (validity ended, not revoked) in the period, in total and by type',
      additionalProperties: { type: 'object', properties: { total: { type: 'integer' }, byType: { type: 'object', additionalProperties: { type: 'integer' } } } },
    },
  },
};

function validDate(value: string, path: string): string {
  if (chinaDate(new Date(`${value}T00:00:00+08:00`)) === value) return value;
  throw new AppError('validation_failed', undefined, [{ path, code: 'format', messages: { zh: `${path}：不是有效日期`, en: `${path}: not a calendar date` } }]);
}

export function statsRoutes(ctx: AppContext): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/v1/stats',
      summary:
        'Service performance figures for your jurisdiction (admin: all): received, decided, approved, returned, rejected, withdrawn by type, stage and channel; on-time rates against the committed and statutory limits; share decided within 3 working days; median and 90th percentile working days to decision; overdue now; complaints. `Accept: text/csv` gives the same figures as CSV',
      tags: ['stats'],
      auth: 'stats:read',
      query: statsQuery,
      responses: {
        '200': { description: 'The figures (JSON, or CSV rows `from,to,figure,dimension,key,value` with Accept: text/csv)', schema: statsSchema },
        '403': { description: 'Applicants and terminals' },
      },
      handlers: [
        async (req, res) => {
          const q = req.query as Record<string, string | undefined>;
          const to = validDate(q.to ?? chinaDate(ctx.clock.now()), 'to');
          const from = validDate(q.from ?? `${to.slice(0, 8)}01`, 'from');
          if (from > to) {
            throw new AppError('validation_failed', undefined, [{ path: 'from', code: 'range', messages: { zh: '起始日期不能晚于截止日期', en: '`from` must not be after `to`' } }]);
          }
          // Figures for days that have not happened would read as zeros, not as unknowns.
          if (to > chinaDate(ctx.clock.now())) {
            throw new AppError('validation_failed', undefined, [{ path: 'to', code: 'range', messages: { zh: '统计期间不能包含未来的日期', en: 'The period cannot reach into the future' } }]);
          }
          if (periodDays(from, to) > MAX_PERIOD_DAYS) {
            throw new AppError('validation_failed', undefined, [
              { path: 'from', code: 'range', messages: { zh: `统计期间最长 ${MAX_PERIOD_DAYS} 天`, en: `A period spans at most ${MAX_PERIOD_DAYS} days` } },
            ]);
          }
          const stats = await computeStats(ctx, principalOf(req), { from, to, type: q.type, division: q.division });
          if (req.accepts(['application/json', 'text/csv']) === 'text/csv') {
            res.type('text/csv; charset=utf-8').attachment(`stats-${from}-${to}.csv`).send(statsCsv(stats));
            return;
          }
          res.json(stats);
        },
      ],
    },
  ];
}
