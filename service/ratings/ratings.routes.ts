import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import type { RouteDef } from '../lib/routes';
import { CURSOR_PATTERN } from '../lib/worklist';
import { listFollowUps, rateApplication, ratingOf, ratingView, recordFollowUp } from './ratings.service';
import { followUpBody, ratingBody, type FollowUpInput, type RatingInput } from './ratings.schemas';

const listQuery = {
  $id: 'urn:fpc:query:rating-follow-ups',
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { enum: ['open', 'done'], description: 'default open' },
    limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1–100, default 50' },
    before: { type: 'string', pattern: CURSOR_PATTERN, description: 'done only: the `next` of the previous page' },
  },
};

const ratingSchema = {
  type: 'object',
  description: 'A rating (好差评): score 1–5 with its level; a bad one (1 or 2) carries a follow-up with a deadline and, once recorded, its outcome.',
  required: ['id', 'applicationId', 'applicationNumber', 'type', 'score', 'level', 'comment', 'channel', 'createdAt', 'followUp'],
  properties: {
    id: { type: 'string' },
    applicationId: { type: 'string' },
    applicationNumber: { type: ['string', 'null'] },
    type: { type: 'string' },
    score: { type: 'integer', minimum: 1, maximum: 5 },
    level: { type: 'object', required: ['zh', 'en'] },
    comment: { type: ['string', 'null'] },
    channel: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
    followUp: {
      type: ['object', 'null'],
      required: ['status', 'deadline', 'overdue', 'outcome', 'at', 'by', 'onTime'],
      properties: {
        status: { enum: ['open', 'done'] },
        deadline: { type: 'string', format: 'date' },
        overdue: { type: 'boolean' },
        outcome: { type: ['string', 'null'] },
        at: { type: ['string', 'null'], format: 'date-time' },
        by: { type: ['object', 'null'] },
        onTime: { type: ['boolean', 'null'] },
      },
    },
  },
};

export function ratingRoutes(ctx: AppContext): RouteDef[] {
  return [
    {
      method: 'post',
      path: '/api/v1/applications/:id/rating',
      summary: 'Rate a finished case once (the applicant, or a terminal for its resident); 1 or 2 opens a follow-up for the township',
      tags: ['ratings'],
      auth: 'rating:give',
      body: ratingBody,
      responses: {
        '201': { description: 'The rating', schema: ratingSchema },
        '409': { description: 'The case has not ended, or it was rated already' },
      },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          res.status(201).json(ratingView(ctx, await rateApplication(ctx, p, String(req.params.id), req.body as RatingInput), p));
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications/:id/rating',
      summary: "A case's rating and its follow-up, for whoever may see the case",
      tags: ['ratings'],
      auth: 'any',
      responses: { '200': { description: 'The rating', schema: ratingSchema }, '404': { description: 'Not rated (or no such case)' } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          res.json(ratingView(ctx, await ratingOf(ctx, p, String(req.params.id)), p));
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/ratings/follow-ups',
      summary: "Follow-ups of bad ratings in the officer's jurisdiction (admin: all): open ones earliest deadline first, done ones last recorded first, a page at a time",
      tags: ['ratings'],
      auth: 'rating:follow-up',
      query: listQuery,
      responses: {
        '200': {
          description: 'Ratings with follow-ups',
          schema: { type: 'object', required: ['items', 'next'], properties: { items: { type: 'array', items: ratingSchema }, next: { type: ['string', 'null'], description: 'done: `before` for the next page; null at the end' } } },
        },
      },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const q = req.query as Record<string, string | undefined>;
          const page = await listFollowUps(ctx, p, { status: q.status === 'done' ? 'done' : 'open', limit: Number(q.limit ?? 50), before: q.before });
          res.json({ items: page.items.map((r) => ratingView(ctx, r, p)), next: page.next });
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/ratings/:id/follow-up',
      summary: "Record a bad rating's follow-up outcome (officers of the case's jurisdiction, once)",
      tags: ['ratings'],
      auth: 'rating:follow-up',
      body: followUpBody,
      responses: { '200': { description: 'The rating with its follow-up done', schema: ratingSchema }, '409': { description: 'Not a bad rating, or already recorded' } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          res.json(ratingView(ctx, await recordFollowUp(ctx, p, String(req.params.id), (req.body as FollowUpInput).outcome), p));
        },
      ],
    },
  ];
}
