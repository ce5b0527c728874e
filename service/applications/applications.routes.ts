import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import { languageOf } from '../lib/i18n';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { accessLog, recordAccess } from '../audit/audit.service';
import { STATUSES } from './workflow';
import { idempotent } from './idempotency';
import { createApplication, listOwn, loadVisible, publicStatus, submit, toView, updateDraft, withdraw } from './applications.service';

const form = { type: 'object', maxProperties: 30, description: 'The form of the certificate type (see its form schema in the service guide)' } as const;

const createBody = {
  $id: 'urn:fpc:body:create-application',
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['birth-service', 'rebirth-permit', 'only-child-honour', 'migrant-marriage'] },
    form,
    resident: {
      type: 'object',
      description: 'Terminals only: the resident the kiosk files for',
      additionalProperties: false,
      required: ['idNumber', 'name'],
      properties: { idNumber: { type: 'string', maxLength: 18 }, name: { type: 'string', minLength: 1, maxLength: 40, pattern: '\\S' } },
    },
    operatorName: { type: 'string', minLength: 1, maxLength: 40, pattern: '\\S', description: 'Terminals only: the staff member at the kiosk' },
    consent: {
      type: 'object',
      description: "Terminals only: how the resident consented to the kiosk filing on their behalf",
      additionalProperties: false,
      required: ['given', 'method'],
      properties: {
        given: { const: true },
        method: { enum: ['signature', 'fingerprint', 'paper-form', 'verbal-witnessed'] },
        reference: { type: 'string', maxLength: 80, description: 'e.g. the number of the signed paper consent form' },
      },
    },
  },
};

const patchBody = {
  $id: 'urn:fpc:body:patch-application',
  type: 'object',
  additionalProperties: false,
  required: ['form'],
  properties: { form },
};

const withdrawBody = {
  $id: 'urn:fpc:body:withdraw',
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 500 } },
};

const emptyBody = { $id: 'urn:fpc:body:empty', type: 'object', additionalProperties: false, properties: {} };

const listQuery = {
  $id: 'urn:fpc:query:list-applications',
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { enum: [...STATUSES] },
    limit: { type: 'string', pattern: '^([1-9]|[1-9][0-9]|100)$', description: '1–100, default 20' },
    before: { type: 'string', pattern: '^[0-9a-f]{24}$', description: 'cursor: the id of the last item of the previous page' },
  },
};

const statusQuery = {
  $id: 'urn:fpc:query:status',
  type: 'object',
  additionalProperties: false,
  required: ['number', 'idNumber'],
  properties: {
    number: { type: 'string', pattern: '^\\d{6}-\\d{4}-\\d{6}$', description: 'Application number, e.g. 430725-2026-000123' },
    idNumber: { type: 'string', maxLength: 18, description: 'ID number of the resident the application was filed for' },
  },
};

const application = { description: 'The application', schema: { type: 'object' } };

export function applicationRoutes(ctx: AppContext): RouteDef[] {
  // Per address and number: one resident checking again and again at the kiosk does not use up the
  // village's lookups; per address overall: nobody walks through the numbers.
  const statusPerNumber = limiter({ name: 'status', windowMs: 15 * 60 * 1000, limit: 20, keyOf: (req) => String(req.query.number ?? '') }, ctx.counterStores);
  const statusPerAddress = limiter({ name: 'status-ip', windowMs: 15 * 60 * 1000, limit: 300 }, ctx.counterStores);
  return [
    {
      method: 'post',
      path: '/api/v1/applications',
      summary: 'Create a draft (applicants for themselves; terminals for a resident, with consent). Idempotency-Key supported.',
      tags: ['applications'],
      auth: 'application:file',
      body: createBody,
      responses: { '201': application },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const out = await idempotent(ctx, req, p, 'create', async () => ({
            status: 201,
            body: toView(ctx, await createApplication(ctx, p, req.body, languageOf(req)), p),
          }));
          res.status(out.status).json(out.body);
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications',
      summary: "The caller's own applications (a terminal: what it filed in the last 24 hours), newest first",
      tags: ['applications'],
      auth: 'application:read-own',
      query: listQuery,
      responses: { '200': { description: 'A page of applications', schema: { type: 'object' } } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const q = req.query as { status?: (typeof STATUSES)[number]; limit?: string; before?: string };
          const limit = Number(q.limit ?? 20);
          const items = await listOwn(ctx, p, { status: q.status, limit, before: q.before });
          const views = items.map((a) => toView(ctx, { ...a, history: [] }, p));
          res.json({ items: views, next: items.length === limit ? items.at(-1)!._id.toString() : null });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications/:id',
      summary: 'One application',
      tags: ['applications'],
      auth: 'any',
      responses: { '200': application },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const app = await loadVisible(ctx, p, String(req.params.id));
          await recordAccess(ctx, req, p, app._id.toString(), 'view');
          res.json(toView(ctx, app, p));
        },
      ],
    },
    {
      method: 'patch',
      path: '/api/v1/applications/:id',
      summary: 'Edit the form while draft or returned',
      tags: ['applications'],
      auth: 'application:file',
      body: patchBody,
      responses: { '200': application },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          res.json(toView(ctx, await updateDraft(ctx, p, String(req.params.id), req.body.form, languageOf(req)), p));
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/applications/:id/submit',
      summary: 'Submit (or resubmit after a return). Same evaluation as the pre-check; 422 with reasons. Idempotency-Key supported.',
      tags: ['applications'],
      auth: 'application:file',
      body: emptyBody,
      responses: { '200': application, '422': { description: 'Not eligible, form incomplete or documents missing' } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const id = String(req.params.id);
          // Without a key, the revision being submitted is the key: two clicks on one draft get one
          // outcome and take one number, instead of a 409 for the second after it took a number too.
          const current = await loadVisible(ctx, p, id);
          const out = await idempotent(
            ctx,
            req,
            p,
            `submit:${id}`,
            async () => ({ status: 200, body: toView(ctx, await submit(ctx, p, id, languageOf(req)), p) }),
            `revision-${new Date(current.updatedAt).getTime()}`,
          );
          res.status(out.status).json(out.body);
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/applications/:id/withdraw',
      summary: 'Withdraw before a decision',
      tags: ['applications'],
      auth: 'application:file',
      body: withdrawBody,
      responses: { '200': application, '409': { description: 'Already decided' } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          res.json(toView(ctx, await withdraw(ctx, p, String(req.params.id), req.body?.reason), p));
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications/:id/history',
      summary: 'Every change: who, role, channel, when, from → to, why',
      tags: ['applications'],
      auth: 'any',
      responses: { '200': { description: 'History entries, oldest first', schema: { type: 'object' } } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const app = await loadVisible(ctx, p, String(req.params.id));
          await recordAccess(ctx, req, p, app._id.toString(), 'history');
          const own = p.role === 'applicant' || p.role === 'terminal';
          const items = app.history.map((h) => ({ ...h, actor: own && h.actor.role !== p.role ? { role: h.actor.role } : h.actor }));
          res.json({ id: app._id.toString(), number: app.number ?? null, items });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications/:id/access-log',
      summary: 'Which staff opened this application, its history or its documents, and when (admins)',
      tags: ['applications'],
      auth: 'audit:read',
      responses: { '200': { description: 'Reads by staff, oldest first', schema: { type: 'object' } } },
      handlers: [
        async (req, res) => {
          const app = await loadVisible(ctx, principalOf(req), String(req.params.id));
          res.json({ id: app._id.toString(), number: app.number ?? null, items: await accessLog(ctx, app._id.toString()) });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/status',
      summary: 'Public case query by application number and ID number (masked data only; rate-limited)',
      tags: ['public'],
      before: [statusPerAddress, statusPerNumber],
      query: statusQuery,
      responses: { '200': { description: 'Status, stage and dates', schema: { type: 'object' } }, '404': { description: 'No such pair' } },
      handlers: [
        async (req, res) => {
          const q = req.query as { number: string; idNumber: string };
          res.setHeader('Cache-Control', 'no-store');
          res.json(await publicStatus(ctx, q.number, q.idNumber));
        },
      ],
    },
  ];
}
