import express, { type Request, type Router } from 'express';
import { statusBody, type StatusQuery } from '../applications/applications.schemas';
import { publicStatus } from '../applications/applications.service';
import { TYPE_CODES, type Limit } from '../catalogue/catalogue';
import { serviceGuide } from '../catalogue/catalogue.service';
import { verifyCertificate } from '../certificates/certificates.service';
import { AppError, PROBLEMS } from '../lib/errors';
import { idHash } from '../lib/personal';
import { limiter } from '../lib/ratelimit';
import { compile } from '../lib/validation';
import { chinaDate } from '../lib/workdays';
import { Fragment, h, type SafeHtml } from './jsx';
import { LANG_COOKIE, setCookie } from './session';
import { Button, CsrfField, day, Page, StatusTag, SummaryList, TextField, type FieldError, type Lang, type Web } from './ui';

export const limitText = (l: Lang, limit: Limit): string =>
  limit.unit === 'working_days' ? l.t(`${limit.value} 个工作日`, `${limit.value} working days`) : l.t(`${limit.value} 日`, `${limit.value} days`);

/** A local path to return to after switching language; anything else goes home (no open redirect). */
const localPath = (s: unknown): string => (typeof s === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(s) ? s : '/');

export function errorPage(web: Web, req: Request, e: AppError): SafeHtml {
  const base = web.base(req, '');
  const { l } = base;
  const titles: Record<number, [string, string]> = {
    404: ['找不到这个页面', 'Page not found'],
    500: ['抱歉，服务出了问题', 'Sorry, there is a problem with the service'],
  };
  const [zh, en] = titles[e.status] ?? [PROBLEMS[e.code].zh, PROBLEMS[e.code].en];
  const title = l.t(zh, en);
  return (
    <Page {...base} title={title}>
      <h1>{title}</h1>
      {e.status === 404 ? (
        <p>{l.t('地址可能输错了，或者该页面已不存在。', 'The address may be mistyped, or the page no longer exists.')}</p>
      ) : e.status >= 500 ? (
        <p>{l.t('请稍后再试。您填写的内容已保存到最近一次提交为止。', 'Try again later. What you entered is saved up to your last completed page.')}</p>
      ) : (
        <p>{l.b(e.detail ?? PROBLEMS[e.code])}</p>
      )}
      {req.id !== undefined ? <p className="hint">{l.t('请求编号', 'Request id')}: {String(req.id)}</p> : null}
      <p><a href="/">{l.t('返回首页', 'Go to the home page')}</a></p>
    </Page>
  );
}

type Verdict = Awaited<ReturnType<typeof verifyCertificate>>;
type Certified = Extract<Verdict, { type: string }>;
/** A verdict that names the certificate (from its signed token), not a bare answer. */
export const isCertified = (v: Verdict | null | undefined): v is Certified => typeof v?.holder === 'string';

/** The verdicts of a certificate check, as a person reads them. */
export const CERTIFICATE_VERDICTS: Record<string, [string, string]> = {
  valid: ['证件有效', 'This certificate is valid'],
  revoked: ['证件已注销', 'This certificate has been revoked'],
  expired: ['证件已过期', 'This certificate has expired'],
  exists: ['该编号的证件确已签发', 'A certificate with this serial was issued'],
  invalid: ['无法核验：证件无效或不存在', 'Not verified: the certificate is invalid or unknown'],
};

/** What public verification shows of a certificate: masked holder, issuer, dates. */
export function CertificateSummary({ l, v }: { l: Lang; v: Certified }): SafeHtml {
  return (
    <SummaryList
      rows={[
        { key: l.t('证件编号', 'Serial'), value: v.serial },
        { key: l.t('证件名称', 'Certificate'), value: l.b(v.typeName) },
        { key: l.t('持证人', 'Holder'), value: v.holder },
        { key: l.t('发证机关', 'Issued by'), value: v.issuer || `${l.b(v.issuingAuthority)}${l.paren(v.issuerDivision ?? '')}` },
        { key: l.t('发证日期', 'Issued'), value: day(v.issuedAt) },
        { key: l.t('有效期至', 'Valid until'), value: v.validUntil ? day(v.validUntil) : l.t('长期有效', 'No expiry') },
        ...(v.revokedAt ? [{ key: l.t('注销日期', 'Revoked'), value: day(v.revokedAt) }] : []),
      ]}
    />
  );
}

/* 证照核验: the QR code's URL opens this page in a browser; a client asking for JSON gets the API answer. */
function verdictPage(web: Web, req: Request, v: Verdict | undefined, code: string): SafeHtml {
  const base = web.base(req, web.lang(req).t('证照核验', 'Verify a certificate'));
  const { l } = base;
  const verdict = v ? (CERTIFICATE_VERDICTS[v.status] ?? CERTIFICATE_VERDICTS.invalid!) : undefined;
  const full = isCertified(v) ? v : undefined;
  return (
    <Page {...base}>
      <h1>{l.t('证照核验', 'Verify a certificate')}</h1>
      {v && verdict ? (
        <section className={`verdict verdict-${v.status}`} aria-labelledby="verdict-title">
          <h2 id="verdict-title">{l.t(...verdict)}</h2>
          {full ? (
            <CertificateSummary l={l} v={full} />
          ) : 'message' in v ? (
            <p>{l.b(v.message)}</p>
          ) : null}
        </section>
      ) : null}
      <form method="get" action="/verify" novalidate>
        <TextField name="code" label={l.t('证件编号', 'Certificate serial')} hint={l.t('例如 430725-2026-BS-000123', 'For example 430725-2026-BS-000123')} value={v ? '' : code} width="short" autocomplete="off" />
        <Button>{l.t('核验', 'Verify')}</Button>
      </form>
      <p><a href="/verify/pdf">{l.t('有证件或决定书的 PDF 文件？上传核验数字签名', 'Have the PDF of a certificate or decision? Upload it to check its signature')}</a></p>
    </Page>
  );
}

/**
 * The QR code carries /api/v1/verify/<token>. A browser (asking for HTML) gets the verdict page; any
 * client asking for JSON falls through to the API route. Mounted before sessions: a scan sets no cookie.
 */
export function qrVerifyPage(web: Web): Router {
  const r = express.Router();
  const verifyLimit = limiter({ name: 'page-verify-qr', windowMs: 60 * 1000, limit: 60 }, web.ctx.counterStores);
  r.get('/api/v1/verify/:token', (req, _res, next) => {
    if (req.accepts(['json', 'html']) !== 'html') return next('router');
    req.page = {};
    next();
  }, verifyLimit, async (req, res) => {
    res.vary('Accept');
    web.send(res, verdictPage(web, req, await verifyCertificate(web.ctx, String(req.params.token)), ''));
  });
  return r;
}

export function publicPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  // The same limits as the JSON routes they mirror (counted separately: a page and an API call are two doors).
  const statusPerAddress = limiter({ name: 'page-status-ip', windowMs: 15 * 60 * 1000, limit: 300 }, ctx.counterStores);
  const statusPerNumber = limiter({ name: 'page-status', windowMs: 15 * 60 * 1000, limit: 20, keyOf: (req) => String(req.body?.number ?? '') }, ctx.counterStores);
  const statusPerIdNumber = limiter(
    { name: 'page-status-id', windowMs: 15 * 60 * 1000, limit: 20, keyOf: (req) => (typeof req.body?.idNumber === 'string' && req.body.idNumber ? idHash(ctx.keys.idHash, req.body.idNumber.trim().toUpperCase()) : undefined) },
    ctx.counterStores,
  );
  const validateStatus = compile<StatusQuery>(statusBody);
  const verifyLimit = limiter({ name: 'page-verify', windowMs: 60 * 1000, limit: 60 }, ctx.counterStores);

  r.get('/lang/:code', (req, res) => {
    const code = req.params.code === 'en' ? 'en' : 'zh';
    setCookie(res, LANG_COOKIE, code, 365 * 86400);
    res.redirect(303, localPath(req.query.back));
  });

  // The guide is a pure function of the catalogue, the day and the language: worked out once a day.
  const guides = new Map<string, ReturnType<typeof serviceGuide>>();
  const guideOf = (code: string, lang: Lang['code'], now = ctx.clock.now(), today = chinaDate(now)) => {
    const key = `${code}|${today}|${lang}`;
    let guide = guides.get(key);
    if (!guide) {
      if (guides.size > 64) guides.clear();
      guide = serviceGuide(ctx.policy, code, now, lang);
      guides.set(key, guide);
    }
    return guide;
  };

  r.get('/', (req, res) => {
    const base = web.base(req, web.lang(req).t('首页', 'Home'));
    const { l } = base;
    const now = ctx.clock.now();
    const today = chinaDate(now);
    const guides = TYPE_CODES.map((code) => guideOf(code, l.code, now, today));
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('计划生育证件网上办理', 'Family-planning certificates online')}</h1>
        <p className="lead">{l.t('在家用手机申请，或到村、乡镇便民服务终端由工作人员代办。全部免费。', 'Apply from your phone at home, or at a village or township service terminal with a clerk. Every service is free.')}</p>
        <h2>{l.t('办事指南', 'Service guides')}</h2>
        <ul className="cards">
          {guides.map((g) => (
            <li className="card">
              <h3><a href={`/guide/${g.code}`}>{l.b(g.names)}</a></h3>
              <p>{l.b(g.summary)}</p>
              <p className="meta">
                {l.t('承诺时限', 'Promised within')}: {g.stages.map((s) => limitText(l, s.committed)).join(' + ')} · {l.t('收费：免费', 'Fee: free')}
              </p>
              <p><a className="button" href={`/apply/start/${g.code}`}>{l.t('在线申报', 'Apply online')}<span className="visually-hidden"> {l.b(g.names)}</span></a></p>
            </li>
          ))}
        </ul>
        <h2>{l.t('其他服务', 'Other services')}</h2>
        <ul className="links">
          <li><a href="/precheck">{l.t('条件自测：看看是否符合申请条件', 'Eligibility pre-check: see whether you qualify')}</a></li>
          <li><a href="/query">{l.t('办件查询：用受理编号查进度', 'Case query: follow a case by its number')}</a></li>
          <li><a href="/verify">{l.t('证照核验：核对证件真伪', 'Verify a certificate')}</a></li>
          <li><a href="/kiosk">{l.t('便民服务终端（工作人员）', 'Service terminal (clerks)')}</a></li>
        </ul>
      </Page>,
    );
  });

  r.get('/guide/:code', (req, res) => {
    const l = web.lang(req);
    const g = guideOf(String(req.params.code), l.code);
    const base = web.base(req, l.b(g.names));
    web.send(
      res,
      <Page {...base}>
        <span className="caption">{l.t('办事指南', 'Service guide')}</span>
        <h1>{l.b(g.names)}</h1>
        <p className="lead">{l.b(g.summary)}</p>
        <p><a className="button" href={`/apply/start/${g.code}`}>{l.t('在线申报', 'Apply online')}</a></p>
        <h2>{l.t('申请条件', 'Conditions')}</h2>
        {g.conditions ? (
          <Fragment>
            <p className="hint">{l.t('适用政策', 'Rules in force')}: {l.b(g.conditions.regime.name)}</p>
            {g.conditions.notice ? <p className="notice">{l.b(g.conditions.notice)}</p> : null}
            <ul>
              {[...g.conditions.requirements, ...g.conditions.grounds].map((c) => (
                <li><strong>{l.b(c.title)}</strong>{l.colon}{l.b(c.description)} <small>{l.paren(c.citation)}</small></li>
              ))}
            </ul>
          </Fragment>
        ) : (
          <p>{l.t('今天没有适用的规则。', 'No rules are in force today.')}</p>
        )}
        <h2>{l.t('申请材料', 'Documents')}</h2>
        <ul>
          {g.documents.map((d) => (
            <li>{l.b(d.name)}{d.condition ? `（${l.b(d.condition)}）` : d.required === 'ground' ? l.t('（按申请理由需要）', ' (if your ground needs it)') : ''}</li>
          ))}
        </ul>
        <h2>{l.t('办理流程', 'Steps')}</h2>
        <ol>{g.steps.map((s) => <li>{l.b(s)}</li>)}</ol>
        <h2>{l.t('办理时限', 'Time limits')}</h2>
        <SummaryList rows={g.stages.map((s) => ({ key: l.b(s.name), value: l.t(`法定 ${limitText(l, s.statutory)}，承诺 ${limitText(l, s.committed)}`, `By law ${limitText(l, s.statutory)}; promised ${limitText(l, s.committed)}`) }))} />
        <h2>{l.t('收费标准', 'Fee')}</h2>
        <p>{g.fee === 0 ? l.t('不收费', 'Free of charge') : String(g.fee)}</p>
        <h2>{l.t('发证机关', 'Issued by')}</h2>
        <p>{l.b(g.issuingAuthority)}</p>
        <h2>{l.t('设定依据', 'Legal basis')}</h2>
        <ul>{g.legalBasis.map((b) => <li>{l.b(b)}</li>)}</ul>
      </Page>,
    );
  });

  /* 办件查询: by number and the ID number the case was filed for. */
  const queryPage = (req: Request, values: { number?: string; accessCode?: string }, errors?: FieldError[], result?: Awaited<ReturnType<typeof publicStatus>>) => {
    const base = web.base(req, web.lang(req).t('办件查询', 'Case query'), errors);
    const { l } = base;
    return (
      <Page {...base}>
        <h1>{l.t('办件查询', 'Case query')}</h1>
        {result ? (
          <section className="panel" aria-labelledby="result-title">
            <h2 id="result-title">{l.t('查询结果', 'Result')}</h2>
            <SummaryList
              rows={[
                { key: l.t('受理编号', 'Number'), value: result.number ?? '' },
                { key: l.t('事项', 'Service'), value: l.b(result.typeName) },
                { key: l.t('申请人', 'Applicant'), value: result.resident },
                { key: l.t('状态', 'Status'), value: <StatusTag l={l} status={result.status} /> },
                ...(result.stage ? [{ key: l.t('当前环节', 'Current stage'), value: l.b(result.stage.name) }, { key: l.t('承诺办结日期', 'Promised by'), value: day(result.stage.committedDeadline) }] : []),
                { key: l.t('提交日期', 'Submitted'), value: day(result.submittedAt) },
                ...(result.decidedAt ? [{ key: l.t('办结日期', 'Decided'), value: day(result.decidedAt) }] : []),
                ...(result.certificateSerial ? [{ key: l.t('证件编号', 'Certificate serial'), value: result.certificateSerial }] : []),
              ]}
            />
          </section>
        ) : null}
        <form method="post" action="/query" novalidate>
          <CsrfField token={base.csrf()} />
          <TextField name="number" label={l.t('受理编号', 'Application number')} hint={l.t('例如 430725-2026-000123，在受理回执或短信里', 'For example 430725-2026-000123, on your receipt or text message')} value={values.number} errors={errors} width="short" autocomplete="off" />
          <TextField name="accessCode" label={l.t('查询码', 'Access code')} hint={l.t('例如 K7M3-Q9TD，在受理回执或确认页上', 'For example K7M3-Q9TD, on your receipt or confirmation page')} value={values.accessCode} errors={errors} width="short" autocomplete="off" />
          <p className="or">{l.t('或者', 'or')}</p>
          <TextField name="idNumber" label={l.t('申请人身份证号码', "Applicant's ID number")} errors={errors} width="short" autocomplete="off" />
          <Button>{l.t('查询', 'Search')}</Button>
        </form>
      </Page>
    );
  };
  r.get('/query', (req, res) => web.send(res, queryPage(req, {})));
  r.post('/query', statusPerAddress, web.csrf, statusPerNumber, statusPerIdNumber, async (req, res) => {
    const l = web.lang(req);
    const number = String(req.body.number ?? '').trim();
    const accessCode = String(req.body.accessCode ?? '').trim().toUpperCase();
    const idNumber = String(req.body.idNumber ?? '').trim().toUpperCase();
    const query = { number, ...(accessCode ? { accessCode } : idNumber ? { idNumber } : {}) };
    // The case query API's own rules, then its use case.
    if (!validateStatus(query)) {
      const errors: FieldError[] = [];
      if (!/^\d{6}-\d{4}-\d{6}$/.test(number)) errors.push({ field: 'number', message: l.t('请填写受理编号，例如 430725-2026-000123', 'Enter the application number, for example 430725-2026-000123') });
      if (!accessCode && !idNumber) errors.push({ field: 'accessCode', message: l.t('请填写查询码或身份证号码', 'Enter the access code or the ID number') });
      if (!errors.length) errors.push({ field: 'accessCode', message: l.t('查询码或身份证号码格式不正确', 'The access code or ID number is not in the right format') });
      return web.send(res, queryPage(req, { number, accessCode }, errors), 400);
    }
    try {
      const result = await publicStatus(ctx, query);
      web.send(res, queryPage(req, { number }, undefined, result));
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'not_found') throw err;
      web.send(res, queryPage(req, { number }, [{ field: 'number', message: l.b(err.detail ?? PROBLEMS.not_found) }]), 404);
    }
  });

  r.get('/verify', verifyLimit, async (req, res) => {
    const code = typeof req.query.code === 'string' ? req.query.code.trim().slice(0, 2000) : '';
    web.send(res, verdictPage(web, req, code ? await verifyCertificate(ctx, code) : undefined, code));
  });

  return r;
}
