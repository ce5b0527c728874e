import type { AppContext } from '../context';
import { principalOf } from '../lib/auth';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { certificateView, getCertificate, listOwnCertificates, revoke, REVOKE_REASONS, verifyCertificate, verifyUrl } from './certificates.service';
import { printableCertificate } from './print';
import { qrPng, qrSvg } from './qr';

const revokeBody = {
  $id: 'urn:fpc:body:revoke',
  type: 'object',
  additionalProperties: false,
  maxProperties: 2,
  required: ['reason'],
  properties: {
    reason: { enum: Object.keys(REVOKE_REASONS), description: 'fraud: obtained by deception; decision-error: the decision was wrong; superseded: replaced by a later certificate; other: say why in text' },
    text: { type: 'string', minLength: 2, maxLength: 500, pattern: '\\S', description: 'the particulars; required for other' },
  },
  if: { properties: { reason: { const: 'other' } } },
  then: { required: ['text'] },
};

const certificate = { description: 'The certificate', schema: { type: 'object' } };

const QR_FORMATS = [
  { ext: 'svg', contentType: 'image/svg+xml', render: qrSvg },
  { ext: 'png', contentType: 'image/png', render: qrPng },
] as const;

export function certificateRoutes(ctx: AppContext): RouteDef[] {
  const verifyLimit = limiter({ name: 'verify', windowMs: 60 * 1000, limit: 60 }, ctx.counterStores);
  return [
    {
      method: 'get',
      path: '/api/v1/certificates',
      summary: "The signed-in applicant's certificates",
      tags: ['certificates'],
      auth: 'certificate:read-own',
      responses: { '200': { description: 'Certificates', schema: { type: 'object' } } },
      handlers: [
        async (req, res) => {
          const items = await listOwnCertificates(ctx, principalOf(req));
          res.json({ items: items.map((c) => certificateView(ctx, c)) });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/certificates/:serial',
      summary: 'One certificate (holder, officers in jurisdiction, admins)',
      tags: ['certificates'],
      auth: 'any',
      responses: { '200': certificate },
      handlers: [async (req, res) => void res.json(certificateView(ctx, await getCertificate(ctx, principalOf(req), String(req.params.serial))))],
    },
    ...QR_FORMATS.map(
      ({ ext, contentType, render }): RouteDef => ({
        method: 'get',
        path: `/api/v1/certificates/:serial/qr.${ext}`,
        summary: `QR code (${ext.toUpperCase()}) carrying the verification URL with the signed token`,
        tags: ['certificates'],
        auth: 'any',
        responses: { '200': { description: ext.toUpperCase(), contentType } },
        handlers: [
          async (req, res) => {
            const cert = await getCertificate(ctx, principalOf(req), String(req.params.serial));
            res.type(contentType).send(await render(verifyUrl(ctx, cert)));
          },
        ],
      }),
    ),
    {
      method: 'get',
      path: '/api/v1/certificates/:serial/print',
      summary: 'Printable certificate (HTML) with its QR code',
      tags: ['certificates'],
      auth: 'any',
      responses: { '200': { description: 'HTML', contentType: 'text/html' } },
      handlers: [
        async (req, res) => {
          const cert = await getCertificate(ctx, principalOf(req), String(req.params.serial));
          res.type('html').send(await printableCertificate(ctx, cert));
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/certificates/:serial/revoke',
      summary: 'Revoke a certificate (county officers and admins; reason required)',
      tags: ['certificates'],
      auth: 'certificate:revoke',
      body: revokeBody,
      responses: { '200': certificate, '409': { description: 'Already revoked' } },
      handlers: [async (req, res) => void res.json(certificateView(ctx, await revoke(ctx, principalOf(req), String(req.params.serial), req.body)))],
    },
    {
      method: 'get',
      path: '/api/v1/verify/:token',
      summary: 'Public verification from the QR token: valid, revoked, expired or invalid, with masked holder data. A bare printed serial answers only `exists` or `invalid`.',
      tags: ['public'],
      before: [verifyLimit],
      responses: { '200': { description: 'Verdict', schema: { type: 'object', properties: { status: { enum: ['valid', 'revoked', 'expired', 'invalid', 'exists'] } } } } },
      handlers: [
        async (req, res) => {
          res.setHeader('Cache-Control', 'no-store');
          res.json(await verifyCertificate(ctx, String(req.params.token)));
        },
      ],
    },
  ];
}
