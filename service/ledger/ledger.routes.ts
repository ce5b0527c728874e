import { Readable } from 'node:stream';
import { TYPE_CODE } from '../catalogue/catalogue';
import { pipeline } from 'node:stream/promises';
import { recordSearch } from '../audit/audit.service';
import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { chinaDate } from '../lib/workdays';
import { ledgerQuery, searchBody } from './ledger.schemas';
import { ledgerCsv, ledgerPage, searchApplications, type LedgerQuery } from './ledger.service';

/** One case in a search answer or a register page. */
const caseRow = {
  type: 'object',
  required: ['id', 'number', 'type'],
  properties: {
    id: { type: 'string' },
    number: { type: ['string', 'null'] },
    type: TYPE_CODE,
    typeName: { type: ['object', 'null'] },
    status: { type: 'string', description: 'search answers' },
    outcome: { type: 'string', description: 'register pages' },
    township: { type: ['string', 'null'] },
    submittedAt: { type: ['string', 'null'], format: 'date-time' },
    decidedAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;

const ledgerPageSchema = {
  type: 'object',
  required: ['period', 'page', 'pageSize', 'total', 'items'],
  properties: {
    period: { type: 'object', required: ['from', 'to'], properties: { from: { type: 'string', format: 'date' }, to: { type: 'string', format: 'date' } } },
    page: { type: 'integer', minimum: 1 },
    pageSize: { type: 'integer', minimum: 1 },
    total: { type: 'integer', minimum: 0 },
    items: { type: 'array', items: caseRow },
  },
} as const;

export function ledgerRoutes(ctx: AppContext): RouteDef[] {
  const searchLimit = limiter({ name: 'search', windowMs: 60_000, limit: 60, keyOf: (req) => req.principal?.id }, ctx.counterStores);
  return [
    {
      method: 'post',
      path: '/api/v1/search/applications',
      summary: 'Officers find cases in their jurisdiction by number, access code, either spouse’s ID number (keyed hash) or name (exact or beginning); every search is in the access log',
      tags: ['ledger'],
      auth: 'application:search',
      body: searchBody,
      responses: { '200': { description: 'Matching cases, newest first', schema: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: caseRow } } } } },
      handlers: [
        searchLimit,
        async (req, res) => {
          const p = principalOf(req);
          const out = await searchApplications(ctx, p, req.body);
          await recordSearch(ctx, req, p, `search:${out.kind}`, out.items.map((i) => i.id));
          res.json({ items: out.items });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/ledger',
      summary: 'The register (台账) of decided cases and their certificates in your jurisdiction, by decision period, type, township and outcome; paged, or the whole period as CSV',
      tags: ['ledger'],
      auth: 'ledger:read',
      query: ledgerQuery,
      responses: {
        '200': { description: 'A page of the register (JSON), or CSV with `format=csv` / Accept: text/csv', schema: ledgerPageSchema },
      },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const raw = req.query as Record<string, string | undefined>;
          const to = raw.to ?? chinaDate(ctx.clock.now());
          const q: LedgerQuery = {
            from: raw.from ?? `${to.slice(0, 7)}-01`,
            to,
            type: raw.type,
            township: raw.township,
            outcome: raw.outcome as LedgerQuery['outcome'],
            page: Number(raw.page ?? 1),
            pageSize: Number(raw.pageSize ?? 50),
          };
          const csv = raw.format === 'csv' || (raw.format === undefined && req.accepts(['application/json', 'text/csv']) === 'text/csv');
          if (!csv) {
            const page = await ledgerPage(ctx, p, q);
            await recordSearch(ctx, req, p, 'ledger:page', page.items.map((i) => i.id));
            res.json(page);
            return;
          }
          const rows = ledgerCsv(ctx, p, q, (ids) => recordSearch(ctx, req, p, 'ledger:csv', ids));
          const first = await rows.next();
          res.type('text/csv; charset=utf-8').attachment(`ledger-${q.from}-${q.to}.csv`);
          await pipeline(
            Readable.from((async function* () {
              if (!first.done) yield first.value;
              yield* rows;
            })()),
            res,
          );
        },
      ],
    },
  ];
}
