import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AppContext } from '../context';
import { actorOf, APPLICANT_KEY, historyEntry, loadVisible } from '../applications/applications.service';
import type { ApplicationDoc, StoredDocument } from '../applications/applications.model';
import { documentCountOf, pushDocument, replaceDocuments } from '../applications/applications.store';
import { isAllowed } from '../applications/workflow';
import { residentAccount } from '../lib/access';
import type { Principal } from '../lib/auth';
import { crashPoint } from '../lib/crash';
import { findByKey } from '../lib/keyindex';
import { isDisplayText } from '../lib/validation';
import { AppError, notFound } from '../lib/errors';
import type { Logger } from '../lib/logger';
import { previewPage } from './preview';
import { sniff } from './sniff';
import type { ReceivedUpload } from './storage';

type Ctx = Pick<AppContext, 'models' | 'clock' | 'files' | 'scanner' | 'policy' | 'config'>;

/** How many documents one application may hold (a re-birth permit needs about ten). */
export const MAX_DOCUMENTS = 20;
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/**
 * All documents of one resident's applications together: room for every case, not a file store.
 * (A kiosk files for many residents; each application's own limits bound it.)
 */
export const MAX_STORED_BYTES_PER_ACCOUNT = 200 * 1024 * 1024;

/** Bytes already stored for the caller's applications (summed here: FerretDB's `$sum` of a field answers 0). */
async function storedBytes(ctx: Ctx, applicantId: string): Promise<number> {
  const apps = await findByKey<ApplicationDoc>(ctx.models, ctx.models.Application, APPLICANT_KEY, applicantId, { applicantId });
  return apps.reduce((sum, a) => sum + (a.documents ?? []).reduce((n, d) => n + (d.size ?? 0), 0), 0);
}

/** A client's file name made safe to show and to put in a header; never used as a path. */
export function sanitizeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const clean = base
    .normalize('NFC')
    .replace(/[\p{Cc}"<>|:*?]/gu, '_')
    .replace(/^\.+/, '')
    .trim()
    .slice(0, 120);
  return clean || 'document';
}

/** Checks before any byte is accepted: the application is the caller's and still editable. */
export async function assertCanUpload(ctx: Ctx, p: Principal, id: string): Promise<ApplicationDoc> {
  const app = await loadVisible(ctx, p, id);
  if (!isAllowed('upload', app.status)) {
    throw new AppError('conflict', { zh: '申请已提交，不能再上传材料', en: 'Documents can only be added while draft or returned' });
  }
  return app;
}

export function documentKinds(ctx: Pick<AppContext, 'policy'>, type: string): string[] {
  return (ctx.policy.type(type)?.documents ?? []).map((d: { kind: string }) => d.kind);
}

/**
 * Accepts one staged upload: type by content and extension, a malware scan, then the file is made
 * permanent and referenced by the application in one conditional update. Any refusal removes the
 * staged bytes; a crash in between leaves at most an unreferenced file, which the sweep removes.
 */
export async function acceptUpload(ctx: Ctx, p: Principal, id: string, kind: string, upload: ReceivedUpload): Promise<StoredDocument> {
  try {
    const app = await assertCanUpload(ctx, p, id);
    if (!documentKinds(ctx, app.type).includes(kind)) {
      throw new AppError('validation_failed', undefined, [
        { path: 'kind', code: 'enum', messages: { zh: `此类申请没有这种材料：${kind}`, en: `No such document kind for this application: ${kind}` } },
      ]);
    }
    if (!isDisplayText(upload.originalName.normalize('NFC'))) {
      throw new AppError('validation_failed', undefined, [
        {
          path: 'file',
          code: 'format:display-text',
          messages: { zh: '文件名含有不可见或控制字符，或没有文字；请改名后重新上传', en: 'The file name has invisible or control characters, or no letters; rename it and upload again' },
        },
      ]);
    }
    if (residentAccount(p) && (await storedBytes(ctx, p.id)) + upload.size > MAX_STORED_BYTES_PER_ACCOUNT) {
      throw new AppError('payload_too_large', {
        zh: `您的申请材料合计已接近 ${MAX_STORED_BYTES_PER_ACCOUNT / 1024 / 1024} MB 上限；请删除不需要的文件后再上传`,
        en: `Your documents together are near the ${MAX_STORED_BYTES_PER_ACCOUNT / 1024 / 1024} MB limit; remove files you do not need first`,
      });
    }
    if (upload.size === 0) throw new AppError('validation_failed', undefined, [{ path: 'file', code: 'minLength', messages: { zh: '文件是空的', en: 'The file is empty' } }]);
    const type = sniff(upload.head, upload.originalName);
    if (!type.ok) throw new AppError('unsupported_media_type', type.message);
    const scan = await ctx.scanner.scan(upload.stagingPath);
    if (!scan.clean) {
      throw new AppError('malware_detected', undefined, undefined, { signature: scan.signature });
    }

    const now = ctx.clock.now();
    const doc: StoredDocument = {
      id: crypto.randomBytes(12).toString('hex'),
      kind,
      fileName: sanitizeFileName(upload.originalName),
      mime: type.mediaType,
      size: upload.size,
      sha256: upload.sha256,
      storageId: upload.id,
      uploadedAt: now,
      uploadedBy: actorOf(p),
    };
    await ctx.files.commit(upload.id);
    crashPoint('upload-after-commit');
    if (!(await pushDocument(ctx, app, doc, historyEntry(ctx, p, 'upload', app.status, app.status, { reason: kind }), MAX_DOCUMENTS))) {
      if (((await documentCountOf(ctx, app._id)) ?? 0) >= MAX_DOCUMENTS) {
        throw new AppError('payload_too_large', { zh: `每份申请最多 ${MAX_DOCUMENTS} 个材料文件`, en: `At most ${MAX_DOCUMENTS} documents per application` });
      }
      throw new AppError('conflict', { zh: '申请状态已改变，请刷新后重试', en: 'The application changed; reload and retry' });
    }
    return doc;
  } catch (err) {
    await ctx.files.remove(upload.id);
    throw err;
  }
}

export async function openDocument(ctx: Ctx, p: Principal, id: string, docId: string): Promise<{ doc: StoredDocument; stream: Readable }> {
  const app = await loadVisible(ctx, p, id);
  const doc = app.documents.find((d) => d.id === docId);
  if (!doc) throw notFound({ zh: '没有这个材料', en: 'No such document' });
  return { doc, stream: await ctx.files.open(doc.storageId) };
}

/**
 * Page `page` of a PDF document's preview (drawn once from the stored file, then kept), for those
 * who may see the application; not found for any other document or page.
 */
export async function openPreviewPage(ctx: Ctx & Pick<AppContext, 'logger'>, p: Principal, id: string, docId: string, page: string): Promise<{ doc: StoredDocument; png: Buffer; fileName: string }> {
  const app = await loadVisible(ctx, p, id);
  const doc = app.documents.find((d) => d.id === docId && d.mime === 'application/pdf');
  if (!doc || !/^[1-9][0-9]?$/.test(page)) throw notFound({ zh: '没有这个材料', en: 'No such document' });
  const png = await previewPage(ctx, doc, Number(page));
  return { doc, png, fileName: `${doc.fileName.replace(/\.pdf$/i, '')}-${page}.png` };
}

export async function removeDocument(ctx: Ctx, p: Principal, id: string, docId: string): Promise<void> {
  const app = await loadVisible(ctx, p, id);
  const doc = app.documents.find((d) => d.id === docId);
  if (!doc) throw notFound({ zh: '没有这个材料', en: 'No such document' });
  if (!isAllowed('removeDocument', app.status)) {
    throw new AppError('conflict', { zh: '申请已提交，不能删除材料', en: 'Documents can only be removed while draft or returned' });
  }
  // The remaining list is written whole, guarded by what was read: FerretDB ignores a $pull by
  // condition (it matches whole elements only), and the guard keeps a concurrent upload.
  const remaining = app.documents.filter((d) => d.id !== docId);
  const replaced = await replaceDocuments(ctx, app, docId, remaining, historyEntry(ctx, p, 'remove-document', app.status, app.status, { reason: doc.kind }));
  if (!replaced) throw new AppError('conflict', { zh: '申请状态已改变，请刷新后重试', en: 'The application changed; reload and retry' });
  await ctx.files.remove(doc.storageId);
}

/**
 * Start-up sweep: staging files of uploads that never finished, and committed files no document
 * references (a crash between storing and recording). Files younger than `graceMs` are left alone:
 * another instance may be in the middle of accepting them. Every referenced file id is collected in
 * one projection and compared in memory: one read of the applications, however many files there are.
 */
export async function sweepOrphans(ctx: Pick<AppContext, 'models' | 'files'>, logger: Pick<Logger, 'info'>, now: Date, graceMs = 15 * 60 * 1000): Promise<{ staging: number; orphans: number }> {
  const cutoff = new Date(now.getTime() - graceMs);
  const staging = await ctx.files.sweepStaging(cutoff);
  const candidates: string[] = [];
  for await (const storageId of ctx.files.list()) {
    const stat = await ctx.files.stat(storageId);
    if (stat && stat.modifiedAt <= cutoff) candidates.push(storageId);
  }
  let orphans = 0;
  if (candidates.length) {
    const referenced = new Set<string>();
    const apps = ctx.models.Application.find({}, { _id: 0, 'documents.storageId': 1 }).lean<Pick<ApplicationDoc, 'documents'>[]>().cursor();
    for await (const app of apps as AsyncIterable<Pick<ApplicationDoc, 'documents'>>) for (const d of app.documents ?? []) referenced.add(d.storageId);
    for (const storageId of candidates) {
      if (referenced.has(storageId)) continue;
      await ctx.files.remove(storageId);
      orphans += 1;
    }
  }
  if (staging.length || orphans) logger.info({ staging: staging.length, orphans }, 'upload sweep removed unreferenced files');
  return { staging: staging.length, orphans };
}

