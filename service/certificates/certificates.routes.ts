import type { RequestHandler, Response } from 'express';
import { TYPE_CODE } from '../catalogue/catalogue';
import multer from 'multer';
import type { AppContext } from '../context';
import { AppError, notFound } from '../lib/errors';
import { checkPdf, MAX_PDF_BYTES } from './verify-pdf';
import { resolveShortId, verifyUrl } from './links';
import { principalOf } from '../lib/auth';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { certificatePdfFor, certificateView, getCertificate, listOwnCertificates, revoke, verifyCertificate } from './certificates.service';
import { revokeBody } from './certificates.schemas';

/** The revocation form on the admin pages (service/web) checks the same body. */
export { revokeBody };
import { printableCertificate } from './print';
import { qrPng, qrSvg } from './qr';


const certificateSchema = {
  type: 'object',
  required: ['serial', 'type', 'status', 'holder', 'applicationId', 'applicationNumber', 'issuerDivision', 'issuedAt', 'validUntil', 'revokedAt', 'token', 'verifyUrl', 'eLicence', 'pdfUrl'],
  properties: {
    serial: { type: 'string' },
    type: TYPE_CODE,
    typeName: { type: 'object', required: ['zh', 'en'] },
    status: { enum: ['valid', 'revoked', 'expired'] },
    holder: { type: 'object', required: ['name', 'idNumber'], properties: { name: { type: 'string' }, idNumber: { type: 'string' } } },
    applicationId: { type: 'string' },
    applicationNumber: { type: 'string' },
    issuerDivision: { type: 'string' },
    issuedAt: { type: 'string', format: 'date-time' },
    validUntil: { type: ['string', 'null'], format: 'date-time' },
    revokedAt: { type: ['string', 'null'], format: 'date-time' },
    revokeReason: { type: ['string', 'null'] },
    revokeReasonCode: { type: ['string', 'null'] },
    token: { type: 'string', description: 'ES256 token the QR code carries' },
    verifyUrl: { type: 'string' },
    tokenUrl: { type: 'string' },
    eLicence: { type: ['object', 'null'] },
    pdfUrl: { type: 'string' },
  },
} as const;
const certificate = { description: 'The certificate', schema: certificateSchema };

const pdfQuery = {
  $id: 'urn:fpc:query:certificate-pdf',
  type: 'object',
  additionalProperties: false,
  properties: { format: { enum: ['a4', 'booklet'], description: 'a4 (default), or booklet: the open spread of the booklet edition, for types whose catalogue entry has one' } },
};

const QR_FORMATS = [
  { ext: 'svg', contentType: 'image/svg+xml', render: qrSvg },
  { ext: 'png', contentType: 'image/png', render: qrPng },
] as const;

/** A PDF as an attachment under a server-chosen name. */
export function sendPdf(res: Response, pdf: Buffer, fileName: string): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Disposition', `attachment; filename="${fileName.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
  res.type('application/pdf').send(pdf);
}

const requireMultipart: RequestHandler = (req, _res, next) => {
  if (!req.is('multipart/form-data')) throw new AppError('unsupported_media_type', { zh: '请以 multipart/form-data 上传PDF文件', en: 'Upload the PDF with multipart/form-data' });
  next();
};

export function certificateRoutes(ctx: AppContext): RouteDef[] {
  const verifyLimit = limiter({ name: 'verify', windowMs: 60 * 1000, limit: 60 }, ctx.counterStores);
  // Checking a PDF costs a parse and a signature check: fewer per minute than token checks.
  const pdfCheckLimit = limiter({ name: 'verify-pdf', windowMs: 60 * 1000, limit: 20 }, ctx.counterStores);
  // In memory (at most 5 MB, one file, no other fields): the file is checked and dropped, never stored.
  const pdfUpload = multer({ storage: multer.memoryStorage(), limits: { fileSize: MAX_PDF_BYTES, files: 1, fields: 0, parts: 1, headerPairs: 20 } }).single('file');
  return [
    {
      method: 'get',
      path: '/api/v1/certificates',
      summary: "The signed-in applicant's certificates",
      tags: ['certificates'],
      auth: 'certificate:read-own',
      responses: { '200': { description: 'Certificates', schema: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: certificateSchema } } } } },
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
      method: 'get',
      path: '/api/v1/certificates/:serial/certificate.pdf',
      summary: 'The certificate as a signed PDF (holder, officers in jurisdiction, admins): content per type, short QR code, seal, e-licence identifier; A4, or `format=booklet` for a type with a booklet edition (the honour certificate)',
      tags: ['certificates'],
      auth: 'any',
      query: pdfQuery,
      responses: { '200': { description: 'PDF signed with the bureau key (adbe.pkcs7.detached)', contentType: 'application/pdf' } },
      handlers: [
        async (req, res) => {
          const format = req.query.format === 'booklet' ? 'booklet' : 'a4';
          const { cert, pdf } = await certificatePdfFor(ctx, principalOf(req), String(req.params.serial), format);
          sendPdf(res, pdf, `certificate-${cert.serial}${format === 'booklet' ? '-booklet' : ''}.pdf`);
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
      path: '/v/:id',
      summary: "The printed QR code's short link: redirects to the verification of the signed token it stands for",
      tags: ['public'],
      before: [verifyLimit],
      responses: { '302': { description: 'To /api/v1/verify/<token>' }, '404': { description: 'Unknown link' } },
      handlers: [
        async (req, res) => {
          const token = await resolveShortId(ctx, String(req.params.id));
          if (!token) throw notFound({ zh: '未找到该核验码', en: 'Unknown verification code' });
          res.setHeader('Cache-Control', 'no-store');
          res.redirect(302, `/api/v1/verify/${token}`);
        },
      ],
    },
    {
      method: 'post',
      path: '/api/v1/verify/pdf',
      summary: 'Public check of a PDF certificate or written decision: is the signature ours and intact, and is the certificate still valid',
      tags: ['public'],
      before: [pdfCheckLimit],
      rawBody: { contentType: 'multipart/form-data', schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } },
      responses: {
        '200': {
          description: 'Verdict',
          schema: {
            type: 'object',
            properties: {
              signature: { enum: ['ours', 'not_ours', 'broken', 'none'] },
              intact: { type: 'boolean' },
              document: { type: ['object', 'null'] },
              certificate: { type: ['object', 'null'] },
              decision: { type: ['object', 'null'] },
            },
          },
        },
        '413': { description: 'Larger than 5 MB' },
        '415': { description: 'Not a PDF' },
      },
      handlers: [
        requireMultipart,
        pdfUpload,
        async (req, res) => {
          if (!req.file) throw new AppError('validation_failed', undefined, [{ path: 'file', code: 'required', messages: { zh: '请选择要核验的PDF文件', en: 'A PDF file is required' } }]);
          res.setHeader('Cache-Control', 'no-store');
          res.json(await checkPdf(ctx, req.file.buffer));
        },
      ],
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
