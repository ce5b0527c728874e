import type { AppContext } from '../context';
import { applicationView } from '../applications/applications.schemas';
import { TYPE_CODE } from '../catalogue/catalogue';
import { principalOf } from '../lib/auth';
import type { RouteDef } from '../lib/routes';
import { claim, decide, queue, release } from './review.service';
import { decisionBody } from './review.schemas';

/** The officer pages (service/web) check the same body. */
export { decisionBody };

const queueQuery = {
  $id: 'urn:fpc:query:queue',
  type: 'object',
  additionalProperties: false,
  properties: {
    type: TYPE_CODE,
    overdue: { enum: ['true', 'false'], description: 'only items past their committed deadline' },
    mine: { enum: ['true', 'false'], description: 'only items I hold a claim on' },
    township: { type: 'string', pattern: '^[0-9]{9}$', description: 'only residents of this township (9-digit division code)' },
    claim: { enum: ['claimed', 'unclaimed'], description: 'only items held under a live claim, or only items anyone may claim' },
    limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1–100, default 20' },
    cursor: { type: 'string', maxLength: 200, description: 'from `next` of the previous page' },
  },
};


const empty = { $id: 'urn:fpc:body:empty-review', type: 'object', additionalProperties: false, properties: {} };
const application = { description: 'The application', schema: applicationView };

const queuePage = {
  type: 'object',
  required: ['items', 'next', 'totals'],
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'number', 'type', 'status', 'channel', 'resident', 'stage', 'committedDeadline', 'overdue', 'claim', 'documents'],
        properties: {
          id: { type: 'string' },
          number: { type: 'string' },
          type: TYPE_CODE,
          status: { enum: ['pending', 'in_review'] },
          channel: { type: 'string' },
          resident: { type: 'object', required: ['name', 'idNumber'], properties: { name: { type: 'string' }, idNumber: { type: 'string' } } },
          division: { type: 'string' },
          stage: { type: ['object', 'null'], required: ['id', 'level'] },
          committedDeadline: { type: ['string', 'null'], format: 'date' },
          statutoryDeadline: { type: ['string', 'null'], format: 'date' },
          deadlineProvisional: { type: 'boolean' },
          overdue: { type: 'boolean' },
          statutoryOverdue: { type: 'boolean' },
          claim: { type: ['object', 'null'], required: ['officerId', 'until', 'mine'], properties: { officerId: { type: 'string' }, until: { type: 'string', format: 'date-time' }, mine: { type: 'boolean' } } },
          submittedAt: { type: 'string', format: 'date-time' },
          documents: { type: 'integer', minimum: 0 },
        },
      },
    },
    next: { type: ['string', 'null'], description: 'cursor for the next page' },
    totals: { type: 'object', description: 'open cases per certificate type', additionalProperties: { type: 'integer' } },
  },
} as const;

export function reviewRoutes(ctx: AppContext): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/v1/queue',
      summary: "The officer's queue at their level and jurisdiction, committed deadline first, with totals per type",
      tags: ['review'],
      auth: 'queue:read',
      query: queueQuery,
      responses: { '200': { description: 'A page of the queue', schema: queuePage } },
      handlers: [
        async (req, res) => {
          const q = req.query as Record<string, string | undefined>;
          res.json(
            await queue(ctx, principalOf(req), {
              type: q.type,
              overdue: q.overdue === 'true',
              mine: q.mine === 'true',
              township: q.township,
              claim: q.claim as 'claimed' | 'unclaimed' | undefined,
              limit: Number(q.limit ?? 20),
              cursor: q.cursor,
            }),
          );
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/applications/:id/claim',
      summary: 'Claim (or renew) a 30-minute lease on an application; one officer at a time',
      tags: ['review'],
      auth: 'application:review',
      body: empty,
      responses: { '200': application, '409': { description: 'Held by another officer' } },
      handlers: [async (req, res) => void res.json(await claim(ctx, principalOf(req), String(req.params.id)))],
    },
    {
      method: 'post',
      path: '/api/v1/applications/:id/release',
      summary: 'Give a claim back (an admin may break anyone’s claim)',
      tags: ['review'],
      auth: 'application:review',
      body: empty,
      responses: { '200': application, '409': { description: 'Not claimed by you' } },
      handlers: [async (req, res) => void res.json(await release(ctx, principalOf(req), String(req.params.id)))],
    },
    {
      method: 'post',
      path: '/api/v1/applications/:id/decision',
      summary: 'Approve, return for supplement (with what is missing) or reject (with a reason); claim holder only',
      tags: ['review'],
      auth: 'application:review',
      body: decisionBody,
      responses: { '200': application, '409': { description: 'Wrong state, or no live claim' } },
      handlers: [async (req, res) => void res.json(await decide(ctx, principalOf(req), String(req.params.id), req.body))],
    },
  ];
}
