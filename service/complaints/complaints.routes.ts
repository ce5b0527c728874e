import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { CURSOR_PATTERN } from '../lib/worklist';
import { answerComplaint, complaintView, fileComplaint, getComplaint, listComplaints, listForApplication } from './complaints.service';

const textBody = (id: string, what: string) => ({
  $id: id,
  type: 'object',
  additionalProperties: false,
  required: ['text'],
  properties: { text: { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S', description: what } },
});

// Compiled once per schema object: each must exist once, not once per app built.
const complaintBody = textBody('urn:fpc:body:complaint', 'what the complaint is about');
export const responseBody = textBody('urn:fpc:body:complaint-response', 'the answer, as the applicant will read it');

const listQuery = {
  $id: 'urn:fpc:query:complaints',
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { enum: ['open', 'answered'], description: 'default open' },
    limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1–100, default 50' },
    before: { type: 'string', pattern: CURSOR_PATTERN, description: 'answered only: the `next` of the previous page' },
  },
};

const complaintSchema = {
  type: 'object',
  description:
    'A complaint: `responseDeadline` is the last China calendar day for an answer (5 working days after filing, day 1 = first working day after); `answeredOnTime` says whether the answer came by then.',
  required: ['id', 'applicationId', 'applicationNumber', 'type', 'status', 'text', 'filedBy', 'createdAt', 'responseDeadline', 'overdue', 'answer', 'answeredOnTime'],
  properties: {
    id: { type: 'string' },
    applicationId: { type: 'string' },
    applicationNumber: { type: ['string', 'null'] },
    type: { type: 'string' },
    status: { enum: ['open', 'answered'] },
    text: { type: 'string' },
    filedBy: { type: 'object', required: ['role'], properties: { role: { type: 'string' } } },
    createdAt: { type: 'string', format: 'date-time' },
    responseDeadline: { type: 'string', format: 'date' },
    overdue: { type: 'boolean' },
    answer: { type: ['object', 'null'], required: ['text', 'at', 'by'], properties: { text: { type: 'string' }, at: { type: 'string', format: 'date-time' } } },
    answeredOnTime: { type: ['boolean', 'null'] },
  },
};

export function complaintRoutes(ctx: AppContext): RouteDef[] {
  // Per signed-in caller: a kiosk files for many residents, so its limit is its own, not the village's.
  const perAccount = limiter({ name: 'complaint', windowMs: 24 * 3600 * 1000, limit: ctx.config.quotas.complaintsPerDay, keyOf: (req) => req.principal?.id }, ctx.counterStores);
  return [
    {
      method: 'post',
      path: '/api/v1/applications/:id/complaints',
      summary: 'File a complaint about an application you can see (applicant, or a terminal for its resident); it is added to the history',
      tags: ['complaints'],
      auth: 'complaint:file',
      body: complaintBody,
      responses: {
        '201': { description: 'The complaint, with its response deadline', schema: complaintSchema },
        '409': { description: 'The application is still a draft' },
        '429': { description: 'Too many complaints by this account today, or about this application' },
      },
      handlers: [
        perAccount,
        async (req, res) => {
          const p = principalOf(req);
          const complaint = await fileComplaint(ctx, p, String(req.params.id), req.body.text);
          res.status(201).json(complaintView(ctx, complaint, p));
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications/:id/complaints',
      summary: 'The complaints about an application and their answers, oldest first',
      tags: ['complaints'],
      auth: 'any',
      responses: { '200': { description: 'Complaints', schema: { type: 'object', properties: { items: { type: 'array', items: complaintSchema } } } } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const items = await listForApplication(ctx, p, String(req.params.id));
          res.json({ items: items.map((c) => complaintView(ctx, c, p)) });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/complaints',
      summary: "Complaints about applications in the officer's jurisdiction (admin: all): open ones earliest response deadline first, answered ones last answered first, a page at a time",
      tags: ['complaints'],
      auth: 'complaint:answer',
      query: listQuery,
      responses: {
        '200': {
          description: 'Complaints',
          schema: { type: 'object', required: ['items', 'next'], properties: { items: { type: 'array', items: complaintSchema }, next: { type: ['string', 'null'], description: 'answered: `before` for the next page; null at the end' } } },
        },
      },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const q = req.query as Record<string, string | undefined>;
          const page = await listComplaints(ctx, p, { status: q.status === 'answered' ? 'answered' : 'open', limit: Number(q.limit ?? 50), before: q.before });
          res.json({ items: page.items.map((c) => complaintView(ctx, c, p)), next: page.next });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/complaints/:id',
      summary: 'One complaint and its answer, for whoever may see its application',
      tags: ['complaints'],
      auth: 'any',
      responses: { '200': { description: 'The complaint', schema: complaintSchema } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          res.json(complaintView(ctx, await getComplaint(ctx, p, String(req.params.id)), p));
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/complaints/:id/response',
      summary: 'Answer a complaint (officers of the application’s jurisdiction, once); the applicant is notified',
      tags: ['complaints'],
      auth: 'complaint:answer',
      body: responseBody,
      responses: { '200': { description: 'The answered complaint', schema: complaintSchema }, '409': { description: 'Already answered' } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          res.json(complaintView(ctx, await answerComplaint(ctx, p, String(req.params.id), req.body.text), p));
        },
      ],
    },
  ];
}
