import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import type { RouteDef } from '../lib/routes';
import { listFollowUps, rateApplication, ratingOf, ratingView, recordFollowUp } from './ratings.service';

/** Also the rating page's rules (service/web). */
export const ratingBody = {
  $id: 'urn:fpc:body:rating',
  type: 'object',
  additionalProperties: false,
  maxProperties: 2,
  required: ['score'],
  properties: {
    score: { type: 'integer', minimum: 1, maximum: 5, description: '1 非常不满意, 2 不满意, 3 基本满意, 4 满意, 5 非常满意' },
    comment: { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S', description: 'optional' },
  },
};

export const followUpBody = {
  $id: 'urn:fpc:body:rating-follow-up',
  type: 'object',
  additionalProperties: false,
  maxProperties: 1,
  required: ['outcome'],
  properties: { outcome: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S', description: 'what the follow-up found and what was put right' } },
};

const listQuery = {
  $id: 'urn:fpc:query:rating-follow-ups',
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { enum: ['open', 'done'], description: 'default open' },
    limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1–100, default 50' },
  },
};

const ratingSchema = {
  type: 'object',
  description: 'A rating (好差评): score 1–5 with its level; a bad one (1 or 2) carries a follow-up with a deadline and, once recorded, its outcome.',
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
          res.status(201).json(ratingView(ctx, await rateApplication(ctx, p, String(req.params.id), req.body), p));
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
      summary: "Follow-ups of bad ratings in the officer's jurisdiction (admin: all), earliest deadline first",
      tags: ['ratings'],
      auth: 'rating:follow-up',
      query: listQuery,
      responses: { '200': { description: 'Ratings with follow-ups', schema: { type: 'object', properties: { items: { type: 'array', items: ratingSchema } } } } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const q = req.query as Record<string, string | undefined>;
          const items = await listFollowUps(ctx, p, { status: q.status === 'done' ? 'done' : 'open', limit: Number(q.limit ?? 50) });
          res.json({ items: items.map((r) => ratingView(ctx, r, p)) });
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
          res.json(ratingView(ctx, await recordFollowUp(ctx, p, String(req.params.id), req.body.outcome), p));
        },
      ],
    },
  ];
}
