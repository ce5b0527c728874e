import { sendPdf } from '../certificates/certificates.routes';
import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import type { RouteDef } from '../lib/routes';
import { decisionFile, decisionView, listDecisions } from './decisions.service';

export function decisionRoutes(ctx: AppContext): RouteDef[] {
  return [
    {
      method: 'get',
      path: '/api/v1/applications/:id/decisions',
      summary: "The case's written decisions (准予 / 不予 / 补正), numbered and signed; for the applicant and the officers who see the case",
      tags: ['review'],
      auth: 'any',
      responses: { '200': { description: 'Decisions, oldest first', schema: { type: 'object', properties: { items: { type: 'array' } } } } },
      handlers: [
        async (req, res) => {
          res.setHeader('Cache-Control', 'no-store');
          res.json({ items: (await listDecisions(ctx, principalOf(req), String(req.params.id))).map(decisionView) });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications/:id/decisions/:decisionId',
      summary: 'One written decision as its signed PDF (attachment)',
      tags: ['review'],
      auth: 'any',
      responses: { '200': { description: 'The signed PDF as kept with the case', contentType: 'application/pdf' } },
      handlers: [
        async (req, res) => {
          const { decision, pdf } = await decisionFile(ctx, principalOf(req), String(req.params.id), String(req.params.decisionId));
          sendPdf(res, pdf, `decision-${decision.kind}-${decision.applicationNumber}.pdf`);
        },
      ],
    },
  ];
}
