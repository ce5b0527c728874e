import { formOf, loadVisible } from '../applications/applications.service';
import { recordAccess } from '../audit/audit.service';
import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import type { RouteDef } from '../lib/routes';
import { familyFlags, familyOf } from './families.service';

export function familyRoutes(ctx: AppContext): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/v1/applications/:id/family',
      summary: "The couple's family record seen from one of their cases: every case and certificate of the couple (in your jurisdiction or not: they are the same people), and declarations that disagree",
      tags: ['families'],
      auth: 'application:review',
      responses: {
        '200': {
          description: 'Cases, certificates and flags',
          schema: {
            type: 'object',
            required: ['id', 'number', 'since', 'applications', 'certificates', 'flags'],
            properties: {
              id: { type: 'string' },
              number: { type: ['string', 'null'] },
              since: { type: ['string', 'null'], format: 'date-time' },
              applications: { type: 'array', items: { type: 'object', required: ['id', 'number', 'type', 'status'] } },
              certificates: { type: 'array', items: { type: 'object', required: ['serial', 'type', 'status'] } },
              flags: { type: 'array' },
            },
          },
        }, '404': { description: 'Not a case you may see' } },
      handlers: [
        async (req, res) => {
          const p = principalOf(req);
          const app = await loadVisible(ctx, p, String(req.params.id));
          await recordAccess(ctx, req, p, app._id.toString(), 'view', 'family');
          const family = app.familyKey ? await familyOf(ctx, app.familyKey) : { since: null, applications: [], certificates: [] };
          res.json({ id: app._id.toString(), number: app.number ?? null, ...family, flags: await familyFlags(ctx, app, (a) => formOf(ctx, a)) });
        },
      ],
    },
  ];
}
