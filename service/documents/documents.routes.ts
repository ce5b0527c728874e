import { pipeline } from 'node:stream/promises';
import type { Request, RequestHandler, Response } from 'express';
import multer from 'multer';
import type { AppContext } from '../context';
import { recordAccess } from '../audit/audit.service';
import { principalOf, type Principal } from '../lib/auth';
import { AppError } from '../lib/errors';
import { limiter } from '../lib/ratelimit';
import type { RouteDef } from '../lib/routes';
import { acceptUpload, assertCanUpload, MAX_FILE_BYTES, openDocument, openPreviewPage, removeDocument } from './documents.service';
import { receivedUpload, uploadEngine } from './storage';

/** One file and at most two fields (the kind, and a page's CSRF token), every multer limit set (its defaults are unlimited). */
export const singleUpload = (ctx: Pick<AppContext, 'files'>): RequestHandler =>
  multer({
    storage: uploadEngine(ctx.files),
    // busboy reads filename="…" as latin1 unless told otherwise: 结婚证.pdf would come back garbled.
    defParamCharset: 'utf8',
    limits: { fileSize: MAX_FILE_BYTES, files: 1, fields: 2, parts: 3, fieldNameSize: 50, fieldSize: 200, headerPairs: 20 },
  }).single('file');

/**
 * One download, for the API and the officer's pages alike: the caller's own access check, the access
 * log, then the file as an attachment that is never sniffed, framed or run (or, for the officer's
 * frame, inline under the same rules, framed only by the service's own pages).
 */
export async function sendDocument(ctx: AppContext, req: Request, res: Response, p: Principal, options: { inline?: boolean } = {}): Promise<void> {
  const { doc, stream } = await openDocument(ctx, p, String(req.params.id), String(req.params.docId));
  try {
    await recordAccess(ctx, req, p, String(req.params.id), 'download', doc.kind);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  attachmentHeaders(res, doc.fileName, doc.mime, doc.size, options);
  // pipeline, not pipe: when the client goes away mid-download the file is closed at once
  // (pipe would leave it open until garbage collection).
  pipeline(stream, res).catch(() => res.destroy());
}

/**
 * A page of a PDF document drawn by the service as a PNG image (`preview.ts`), for the officer's
 * sandboxed frame: the same access check, access log and attachment rules as the document itself.
 */
export async function sendPreviewPage(ctx: AppContext, req: Request, res: Response, p: Principal): Promise<void> {
  const { doc, png, fileName } = await openPreviewPage(ctx, p, String(req.params.id), String(req.params.docId), String(req.params.page));
  await recordAccess(ctx, req, p, String(req.params.id), 'download', doc.kind);
  attachmentHeaders(res, fileName, 'image/png', png.length, { inline: true });
  res.end(png);
}

/** What every stored file goes out with: an attachment that is never sniffed, framed or run. */
function attachmentHeaders(res: Response, fileName: string, mime: string, size: number, options: { inline?: boolean }): void {
  // attachment() sets a type from the file name's extension; the stored, sniffed type is the one sent.
  res.attachment(fileName);
  res.setHeader('Content-Type', mime);
  res.setHeader('Content-Length', String(size));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (options.inline) {
    // Read in place in a frame of the service's own pages (an image, or a PDF page drawn as one),
    // still sandboxed: no script runs, no form posts, nothing reaches the page around it.
    res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'self'; sandbox");
    res.setHeader('X-Frame-Options', 'SAMEORIGIN');
    res.setHeader('Content-Disposition', String(res.getHeader('Content-Disposition')).replace(/^attachment/, 'inline'));
  } else {
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  }
}

export function documentRoutes(ctx: AppContext): RouteDef[] {
  // multer only on the routes that take files, never global.
  const upload = singleUpload(ctx);
  // Keyed by the signed-in caller (after authentication), so a busy kiosk is limited per terminal
  // and one resident's account per account, not everyone behind one address together.
  const uploadLimit = limiter({ name: 'upload', windowMs: 15 * 60 * 1000, limit: 200, keyOf: (req) => req.principal?.id }, ctx.counterStores);

  const requireMultipart: RequestHandler = (req, _res, next) => {
    if (!req.is('multipart/form-data')) {
      throw new AppError('unsupported_media_type', { zh: '请以 multipart/form-data 上传文件', en: 'Upload with multipart/form-data' });
    }
    next();
  };
  const checkFirst: RequestHandler = async (req, _res, next) => {
    await assertCanUpload(ctx, principalOf(req), String(req.params.id));
    next();
  };

  return [
    {
      method: 'post',
      path: '/api/v1/applications/:id/documents',
      summary: 'Upload one document (multipart: kind + file; PDF, JPEG or PNG up to 10 MB)',
      tags: ['documents'],
      auth: 'application:file',
      rawBody: {
        contentType: 'multipart/form-data',
        schema: {
          type: 'object',
          required: ['kind', 'file'],
          properties: { kind: { type: 'string', description: 'a document kind of the certificate type' }, file: { type: 'string', format: 'binary' } },
        },
      },
      responses: {
        '201': {
          description: 'Stored document',
          schema: {
            type: 'object',
            required: ['id', 'kind', 'fileName', 'mime', 'size', 'sha256', 'uploadedAt'],
            properties: {
              id: { type: 'string' },
              kind: { type: 'string' },
              fileName: { type: 'string' },
              mime: { enum: ['application/pdf', 'image/jpeg', 'image/png'] },
              size: { type: 'integer', minimum: 1 },
              sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
              uploadedAt: { type: 'string', format: 'date-time' },
            },
          },
        }, '413': { description: 'Too large' }, '415': { description: 'Not PDF, JPEG or PNG' } },
      handlers: [
        uploadLimit,
        requireMultipart,
        checkFirst,
        upload,
        async (req, res) => {
          if (!req.file) {
            throw new AppError('validation_failed', undefined, [{ path: 'file', code: 'required', messages: { zh: '请选择要上传的文件', en: 'A file is required' } }]);
          }
          const staged = receivedUpload(req.file);
          const kind = typeof req.body?.kind === 'string' ? req.body.kind : '';
          if (!/^[a-z0-9-]{1,40}$/.test(kind)) {
            await ctx.files.remove(staged.id);
            throw new AppError('validation_failed', undefined, [{ path: 'kind', code: 'required', messages: { zh: '请选择材料种类', en: 'kind is required' } }]);
          }
          const doc = await acceptUpload(ctx, principalOf(req), String(req.params.id), kind, staged);
          res.status(201).json({ id: doc.id, kind: doc.kind, fileName: doc.fileName, mime: doc.mime, size: doc.size, sha256: doc.sha256, uploadedAt: doc.uploadedAt });
        },
      ],
    },
    {
      method: 'get',
      path: '/api/v1/applications/:id/documents/:docId',
      summary: 'Download a document (as an attachment) — for those who may see the application',
      tags: ['documents'],
      auth: 'any',
      responses: { '200': { description: 'The file', contentType: 'application/octet-stream' } },
      handlers: [
        (req, res) => sendDocument(ctx, req, res, principalOf(req)),
      ],
    },
    {
      method: 'delete',
      path: '/api/v1/applications/:id/documents/:docId',
      summary: 'Delete a document while draft or returned',
      tags: ['documents'],
      auth: 'application:file',
      responses: { '204': { description: 'Deleted' } },
      handlers: [
        async (req, res) => {
          await removeDocument(ctx, principalOf(req), String(req.params.id), String(req.params.docId));
          res.status(204).end();
        },
      ],
    },
  ];
}
