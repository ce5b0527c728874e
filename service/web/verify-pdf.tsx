import express, { type Request, type Response, type Router } from 'express';
import multer from 'multer';
import { checkPdf, MAX_PDF_BYTES } from '../certificates/verify-pdf';
import { DECISION_TITLES, type DecisionKind } from '../decisions/decisions.model';
import { AppError, PROBLEMS, translate } from '../lib/errors';
import { limiter } from '../lib/ratelimit';
import { h, type SafeHtml } from './jsx';
import { CERTIFICATE_VERDICTS, CertificateSummary, isCertified } from './public';
import { checkCsrf } from './session';
import { BackLink, Button, CsrfField, day, fieldId, Page, SummaryList, type FieldError, type Lang } from './ui';
import type { Web } from './ui';

type Check = Awaited<ReturnType<typeof checkPdf>>;

const FILE = 'file';

/** The signature's verdict in a sentence, and whether it is good news. */
function signatureVerdict(l: Lang, c: Check): { ok: boolean; title: string; text: string } {
  switch (c.signature) {
    case 'ours':
      return {
        ok: true,
        title: l.t('签名有效：本文件由本系统签发，未被改动', 'Signature valid: this file was issued by us and has not been altered'),
        text: l.t('文件的数字签名来自本局的签名证书，签名后文件内容没有任何改动。', 'The digital signature is made with our signing certificate, and nothing in the file has changed since it was signed.'),
      };
    case 'broken':
      return {
        ok: false,
        title: l.t('文件已被改动：签名与内容不符', 'Altered: the file was changed after it was signed'),
        text: l.t('文件签名后被修改或追加了内容，不能作为本局签发的证件或文书使用。请向持有人索取原件，或扫描证件上的二维码核验。', 'The file was edited or added to after it was signed: do not rely on it. Ask the holder for the original, or scan the QR code on the certificate.'),
      };
    case 'not_ours':
      return {
        ok: false,
        title: l.t('不是本系统签发的文件', 'Not issued by us'),
        text: l.t('文件带有数字签名，但签名证书不是本局的。', 'The file is signed, but not with our signing certificate.'),
      };
    default:
      return {
        ok: false,
        title: l.t('文件没有数字签名', 'This file carries no digital signature'),
        text: l.t('本系统签发的证件和决定书都带有数字签名；这份文件不是，或者是扫描件、截图另存的 PDF。', 'Every certificate and decision we issue is digitally signed; this file is not, or it is a scan or a re-saved copy.'),
      };
  }
}

/** What the signed document is and where it stands now: a certificate's current state, a decision on file. */
function DocumentState({ l, c }: { l: Lang; c: Check }): SafeHtml | null {
  if (c.signature !== 'ours') return null;
  if (c.certificate) {
    const [zh, en] = CERTIFICATE_VERDICTS[c.certificate.status] ?? CERTIFICATE_VERDICTS.invalid!;
    return (
      <section className={`verdict verdict-${c.certificate.status}`} aria-labelledby="state-title">
        <h2 id="state-title">{l.t(`证件当前状态：${zh}`, `The certificate now: ${en.replace(/^This certificate /, '')}`)}</h2>
        {isCertified(c.certificate) ? <CertificateSummary l={l} v={c.certificate} /> : null}
      </section>
    );
  }
  if (c.decision) {
    const d = c.decision;
    const onFile = 'number' in d && d.onFile;
    return (
      <section className={`verdict verdict-${onFile && d.sameFile ? 'valid' : 'invalid'}`} aria-labelledby="state-title">
        <h2 id="state-title">
          {onFile
            ? d.sameFile
              ? l.t('决定书与本局存档一致', 'The decision matches the one on file')
              : l.t('决定书已存档，但与存档文件不完全相同', 'The decision is on file, but this file differs from the one kept')
            : l.t('本局没有这份决定书的存档', 'No such decision is on file')}
        </h2>
        {onFile ? (
          <SummaryList
            rows={[
              { key: l.t('文书', 'Document'), value: l.b(DECISION_TITLES[d.kind as DecisionKind]) },
              { key: l.t('文号', 'Number'), value: d.number },
              { key: l.t('作出机关', 'Decided by'), value: d.issuer },
              { key: l.t('决定日期', 'Decided on'), value: day(d.decidedAt) },
            ]}
          />
        ) : null}
      </section>
    );
  }
  return null;
}

/**
 * 文件核验: anyone uploads a certificate or decision PDF and reads whether the signature is ours and
 * intact, and the certificate's state now (valid, revoked, expired) with the holder masked. The
 * same check as `POST /api/v1/verify/pdf`; a plain multipart form, so it works without JavaScript.
 * The file is read in memory and dropped: nothing is stored.
 */
export function verifyPdfPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  // As the API's check: a parse and a signature check per upload.
  const pdfCheckLimit = limiter({ name: 'page-verify-pdf', windowMs: 60 * 1000, limit: 20 }, ctx.counterStores);
  // In memory, one file and the form token only: checked and dropped, never stored.
  const limits = { fileSize: MAX_PDF_BYTES, files: 1, fields: 1, parts: 2, fieldNameSize: 50, fieldSize: 200, headerPairs: 20 };
  const upload = multer({ storage: multer.memoryStorage(), limits }).single(FILE);

  const page = (req: Request, result?: Check, errors?: FieldError[]): SafeHtml => {
    const base = web.base(req, web.lang(req).t('PDF 文件核验', 'Check a PDF'), errors);
    const { l } = base;
    const err = errors?.find((e) => e.field === FILE);
    const id = fieldId(FILE);
    const verdict = result ? signatureVerdict(l, result) : undefined;
    return (
      <Page {...base}>
        <BackLink href="/verify" l={l} />
        <h1>{l.t('PDF 文件核验', 'Check a PDF')}</h1>
        <p>{l.t('上传本系统签发的证件或决定书 PDF，核对数字签名是否为本局所签、文件是否被改动，以及证件当前是否有效。文件只用于核验，不会保存。', 'Upload the PDF of a certificate or decision we issued to check that we signed it, that it has not been altered, and whether the certificate is still valid. The file is only checked, never kept.')}</p>
        {result && verdict ? (
          <section className={`verdict verdict-${verdict.ok ? 'valid' : 'invalid'}`} aria-labelledby="verdict-title" role="status">
            <h2 id="verdict-title">{verdict.title}</h2>
            <p>{verdict.text}</p>
            {result.signature === 'not_ours' && result.signer ? <p>{l.t('签名者', 'Signed by')}{l.colon}{result.signer}</p> : null}
          </section>
        ) : null}
        {result ? <DocumentState l={l} c={result} /> : null}
        <form method="post" action="/verify/pdf" enctype="multipart/form-data" novalidate>
          <CsrfField token={base.csrf()} />
          <div className={`field${err ? ' field-error' : ''}`}>
            <label htmlFor={id}>{result ? l.t('核验另一份 PDF 文件', 'Check another PDF') : l.t('选择 PDF 文件', 'Choose the PDF file')}</label>
            <p className="hint" id={`${id}-hint`}>{l.t('证件或决定书的 PDF，最大 5 MB', 'A certificate or decision as PDF, at most 5 MB')}</p>
            {err ? <p className="error-message" id={`${id}-error`}>{err.message}</p> : null}
            <input type="file" id={id} name={FILE} accept="application/pdf,.pdf" aria-describedby={err ? `${id}-hint ${id}-error` : `${id}-hint`} aria-invalid={err ? 'true' : undefined} />
          </div>
          <Button>{l.t('核验', 'Check')}</Button>
        </form>
        <p className="hint">{l.t('没有 PDF？扫描证件上的二维码，或在“证照核验”页输入证件编号。', 'No PDF? Scan the QR code on the certificate, or enter its serial on the verification page.')}</p>
      </Page>
    );
  };

  r.get('/verify/pdf', (req, res) => web.send(res, page(req)));
  r.post('/verify/pdf', pdfCheckLimit, async (req: Request, res: Response) => {
    const l = web.lang(req);
    const refuse = (e: AppError) => web.send(res, page(req, undefined, [{ field: FILE, message: l.b(e.detail ?? PROBLEMS[e.code]) }]), e.status);
    if (!req.is('multipart/form-data')) throw new AppError('unsupported_media_type', { zh: '请用页面上的表单上传 PDF 文件', en: 'Upload the PDF with the form on the page' });
    try {
      await new Promise<void>((resolve, reject) => upload(req, res, (e?: unknown) => (e ? reject(e) : resolve())));
    } catch (e) {
      const known = translate(e);
      if (!known) throw e;
      return refuse(known);
    }
    checkCsrf(ctx, req, (req.body as Record<string, unknown> | undefined)?._csrf);
    if (!req.file || req.file.size === 0) return web.send(res, page(req, undefined, [{ field: FILE, message: l.t('请选择要核验的 PDF 文件', 'Choose the PDF file to check') }]), 400);
    let result: Check;
    try {
      result = await checkPdf(ctx, req.file.buffer);
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) throw e;
      return refuse(e);
    }
    web.send(res, page(req, result));
  });
  return r;
}
