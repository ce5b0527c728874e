import type { AppContext } from '../context';
import { idHash } from '../lib/personal';
import { principalOf } from '../lib/auth';
import { readsOthers, residentSide } from '../lib/access';
import { languageOf } from '../lib/i18n';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { accessLog, recordAccess } from '../audit/audit.service';
import { formInBody } from '../eligibility/eligibility.schemas';
import { STATUSES } from './workflow';
import { accessLogPage, applicationPage, applicationView, createBody, historyPage, publicStatusView, statusBody } from './applications.schemas';

/** The case query page (service/web) checks the same body. */
export { statusBody };
import { idempotent } from './idempotency';
import { familyFlags } from '../families/families.service';
import { checkDraftForm, createApplication, formOf, listOwn, loadVisible, publicStatus, submit, toView, updateDraft, withdraw } from './applications.service';

const form = formInBody;

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


const application = { description: 'The application', schema: applicationView };

export function applicationRoutes(ctx: AppContext): RouteDef[] {
  // Per address and number: one resident checking again and again at the kiosk does not use up the
  // village's lookups; per address overall: nobody walks through the numbers.
  // Per address and number, and per address and ID number (by its keyed hash: the counters must not
  // hold it in clear): one resident checking again and again at the kiosk does not use up the
  // village's lookups; per address overall: nobody walks through the numbers or the ID numbers.
  const statusPerNumber = limiter({ name: 'status', windowMs: 15 * 60 * 1000, limit: 20, keyOf: (req) => String(req.body?.number ?? '') }, ctx.counterStores);
  const statusPerIdNumber = limiter(
    { name: 'status-id', windowMs: 15 * 60 * 1000, limit: 20, keyOf: (req) => (typeof req.body?.idNumber === 'string' ? idHash(ctx.keys.idHash, req.body.idNumber.trim().toUpperCase()) : undefined) },
    ctx.counterStores,
  );
  const draftsPerAccount = limiter({ name: 'create-draft', windowMs: 3600 * 1000, limit: ctx.config.quotas.draftsPerHour, keyOf: (req) => req.principal?.id }, ctx.counterStores);
  const statusPerAddress = limiter({ name: 'status-ip', windowMs: 15 * 60 * 1000, limit: 300 }, ctx.counterStores);
  return [
    {
      method: 'post',
      path: '/api/v1/applications',
      summary: 'Create a draft (applicants for themselves; terminals for a resident, with consent). Idempotency-Key supported.',
      tags: ['applications'],
      auth: 'application:file',
      body: createBody,
      responses: { '201': application, '429': { description: 'Too many drafts created this hour, or too many open drafts' } },
      handlers: [
        draftsPerAccount,
        async (req, res) => {
          const p = principalOf(req);
          const lang = languageOf(req);
          // Only validated input is fingerprinted: a form that could never be valid is refused first.
          checkDraftForm(ctx, p, req.body.type, req.body.form ?? {}, lang);
          const out = await idempotent(
            ctx,
            { req, principal: p, operation: 'create', input: req.body },
            async () => ({ status: 201, resourceId: (await createApplication(ctx, p, req.body, lang))._id.toString() }),
            async (id) => toView(ctx, await loadVisible(ctx, p, id), p),
          );
          res.status(out.status).json(out.body);
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications',
      summary: "The caller's own applications (a terminal: what it filed in the last hour, TERMINAL_WINDOW_SECONDS, with masked ID numbers and no forms), newest first",
      tags: ['applications'],
      auth: 'application:read-own',
      query: listQuery,
      responses: { '200': { description: 'A page of applications', schema: applicationPage } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const q = req.query as { status?: (typeof STATUSES)[number]; limit?: string; before?: string };
          const limit = Number(q.limit ?? 20);
          const items = await listOwn(ctx, p, { status: q.status, limit, before: q.before });
          const views = items.map((a) => toView(ctx, { ...a, history: [] }, p, true));
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
          // Staff see where the couple's declarations across their cases disagree.
          const staff = readsOthers(p);
          res.json({ ...toView(ctx, app, p), ...(staff ? { familyFlags: await familyFlags(ctx, app, (a) => formOf(ctx, a)) } : {}) });
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
            { req, principal: p, operation: `submit:${id}`, input: req.body, implicitKey: `revision-${new Date(current.updatedAt).getTime()}` },
            async () => ({ status: 200, resourceId: (await submit(ctx, p, id, languageOf(req)))._id.toString() }),
            async (resourceId) => toView(ctx, await loadVisible(ctx, p, resourceId), p),
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
      responses: { '200': { description: 'History entries, oldest first', schema: historyPage } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const app = await loadVisible(ctx, p, String(req.params.id));
          await recordAccess(ctx, req, p, app._id.toString(), 'history');
          const own = residentSide(p);
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
      responses: { '200': { description: 'Reads by staff, oldest first', schema: accessLogPage } },
      handlers: [
        async (req, res) => {
          const app = await loadVisible(ctx, principalOf(req), String(req.params.id));
          res.json({ id: app._id.toString(), number: app.number ?? null, items: await accessLog(ctx, app._id.toString()) });
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/status',
      summary: 'Public case query (办件查询) by application number and the ID number or the access code on the receipt; masked data only; rate-limited. A POST: an ID number never travels in a URL.',
      tags: ['public'],
      before: [statusPerAddress],
      body: statusBody,
      responses: { '200': { description: 'Status, stage and dates', schema: publicStatusView }, '404': { description: 'No such pair' } },
      handlers: [
        statusPerNumber,
        statusPerIdNumber,
        async (req, res) => {
          res.setHeader('Cache-Control', 'no-store');
          res.json(await publicStatus(ctx, req.body));
        },
      ],
    },
  ];
}
