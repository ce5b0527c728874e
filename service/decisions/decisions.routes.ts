import type { Request, Response } from 'express';
import { recordAccess } from '../audit/audit.service';
import { sendPdf } from '../certificates/certificates.routes';
import type { AppContext } from '../context';
import { principalOf, type Principal } from '../lib/auth';
import type { RouteDef } from '../lib/routes';
import { decisionFile, decisionView, listDecisions } from './decisions.service';

/**
 * One download of a written decision, for the API and the pages alike (`:id`, `:decisionId`): the
 * caller's own access check, the access log for staff, then the signed PDF as an attachment.
 */
export async function sendDecision(ctx: AppContext, req: Request, res: Response, p: Principal): Promise<void> {
  const { decision, pdf } = await decisionFile(ctx, p, String(req.params.id), String(req.params.decisionId));
  await recordAccess(ctx, req, p, decision.applicationId, 'download', `decision:${decision.kind}`);
  sendPdf(res, pdf, `decision-${decision.kind}-${decision.applicationNumber}.pdf`);
}

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
      handlers: [(req, res) => sendDecision(ctx, req, res, principalOf(req))],
    },
  ];
}
