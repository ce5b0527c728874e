import crypto from 'node:crypto';
import { can } from '../lib/auth';
import fs from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Router } from 'express';
import type { AppContext } from '../context';
import { AppError, translate } from '../lib/errors';
import { languageOf, type Language } from '../lib/i18n';
import { projectRoot } from '../lib/paths';
import { accountPages } from './account';
import { downloadPages } from './downloads';
import { journeyPages } from './journey';
import { renderDocument } from './jsx';
import { kioskPages } from './kiosk';
import { recordPages } from './records';
import { adminPages } from './admin';
import { dashboardPages } from './dashboard';
import { inboxPages } from './inbox';
import { officerPages } from './officer';
import { precheckPages } from './precheck';
import { errorPage, publicPages, qrVerifyPage } from './public';
import { checkCsrf, csrfToken, LANG_COOKIE, parseCookies, sessions } from './session';
import { verifyPdfPages } from './verify-pdf';
import { assetUrls, makeLang, type FieldError, type Lang, type Web } from './ui';

export function pageLanguage(req: Request): Language {
  const chosen = parseCookies(req)[LANG_COOKIE];
  return chosen === 'en' || chosen === 'zh' ? chosen : languageOf(req);
}

function assets(): { files: Map<string, { body: Buffer; type: string }>; version: string } {
  const dir = path.join(projectRoot(), 'service', 'web', 'assets');
  const files = new Map<string, { body: Buffer; type: string }>();
  const hash = crypto.createHash('sha256');
  for (const name of fs.readdirSync(dir).sort()) {
    const body = fs.readFileSync(path.join(dir, name));
    hash.update(body);
    files.set(name, { body, type: name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8' });
  }
  return { files, version: hash.digest('hex').slice(0, 10) };
}

/** The pages: mounted before the API routes (`pages`), and a friendly 404 after them (`notFound`). */
export function webLayer(ctx: AppContext): { pages: Router; notFound: RequestHandler } {
  const { files, version } = assets();
  assetUrls.css = `/assets/site.css?v=${version}`;
  assetUrls.js = `/assets/site.js?v=${version}`;
  assetUrls.staffJs = `/assets/officer.js?v=${version}`;

  // Worked out once per request (the Accept-Language negotiation is not free), two fixed Lang objects.
  const LANGS = { zh: makeLang('zh'), en: makeLang('en') } as const;
  const chosen = new WeakMap<Request, Lang>();
  const lang = (req: Request): Lang => {
    let l = chosen.get(req);
    if (!l) chosen.set(req, (l = LANGS[pageLanguage(req)]));
    return l;
  };
  const web: Web = {
    ctx,
    lang,
    base(req, title, errors) {
      const s = req.page?.session;
      const kiosk = s?.doc.kind === 'kiosk' || req.path.startsWith('/kiosk');
      return {
        l: lang(req),
        title,
        path: req.originalUrl.split('?')[0] ?? '/',
        who: s ? { name: s.doc.kind === 'kiosk' ? `${s.principal.name} · ${s.doc.operatorName ?? ''}` : s.principal.name, kind: s.doc.kind, admin: can(s.principal, 'account:manage') } : undefined,
        csrf: () => csrfToken(ctx, req),
        kiosk: kiosk ? { idleSeconds: ctx.config.kioskIdleSeconds, serving: Boolean(s?.doc.kioskResident) } : undefined,
        errors,
      };
    },
    send(res, page, status = 200) {
      // Every page may carry someone's data or a form token: never stored by the browser or a proxy.
      // So no ETag either (res.send would hash every page for a validator nobody may use): the
      // document goes out as it is.
      const body = Buffer.from(renderDocument(page));
      res.statusCode = status;
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      res.setHeader('Content-Length', body.length);
      res.end(res.req.method === 'HEAD' ? undefined : body);
    },
    csrf: (req, _res, next) => {
      checkCsrf(ctx, req, (req.body as Record<string, unknown> | undefined)?._csrf);
      next();
    },
    fieldErrors(req, problems, labels) {
      const l = lang(req);
      const seen = new Set<string>();
      const out: FieldError[] = [];
      for (const p of problems ?? []) {
        const field = p.path.replace(/^form\./, '');
        // One message per field, the first the rules gave: a person fixes one thing at a time.
        if (seen.has(field)) continue;
        seen.add(field);
        const label = labels?.(field);
        const said = l.b(p.messages).replace(/^[^：:]*[：:]\s*/, (prefix) => (prefix.includes(field) || prefix.includes(p.path) ? '' : prefix));
        let message = label ? `${label}${l.colon}${said}` : said;
        // The schema's wording ("must match pattern \\S") is for programmers; say it plainly.
        if (label && (p.code === 'required' || p.code === 'minLength' && /\b1\b/.test(said))) message = l.t(`请填写${label}`, `Enter ${label}`);
        else if (label && (p.code === 'pattern' || (p.code.startsWith('format:') && p.code !== 'format:cn-id-number'))) message = l.t(`${label}的格式不正确`, `${label} is not in the right format`);
        out.push({ field, message });
      }
      return out;
    },
  };

  const pages = express.Router();
  pages.get('/assets/:name', (req, res, next) => {
    const file = files.get(String(req.params.name));
    if (!file) return next();
    res.setHeader('Cache-Control', req.query.v === version ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.type(file.type).send(file.body);
  });
  pages.use(qrVerifyPage(web));
  // Everything else under these prefixes is the API's: no session, no cookie, no form parsing.
  pages.use((req, _res, next) => next(/^\/(api|v|docs|openapi\.json|healthz|readyz|\.well-known)(\/|$)/.test(req.path) ? 'router' : undefined));
  pages.use(sessions(ctx));
  pages.use(express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 80 }));
  pages.use(publicPages(web));
  pages.use(verifyPdfPages(web));
  pages.use(precheckPages(web));
  pages.use(accountPages(web));
  pages.use(downloadPages(web));
  pages.use(journeyPages(web));
  pages.use(kioskPages(web));
  pages.use(officerPages(web));
  pages.use(dashboardPages(web));
  pages.use(recordPages(web));
  pages.use(inboxPages(web));
  pages.use(adminPages(web));
  const pageErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const known = translate(err);
    if (!known) ctx.logger.error({ err, requestId: req.id }, 'unhandled error on a page');
    const problem = known ?? new AppError('internal');
    if (!req.page) req.page = {};
    web.send(res, errorPage(web, req, problem), problem.status);
  };
  pages.use(pageErrors);

  // After the API: a person who mistypes an address gets a page, a program still gets problem+json.
  const notFound: RequestHandler = (req, res, next) => {
    const wantsPage = !/^\/(api|v|docs|openapi\.json|healthz|readyz|\.well-known)(\/|$)/.test(req.path) && req.accepts(['json', 'html']) === 'html';
    if (!wantsPage || (req.method !== 'GET' && req.method !== 'HEAD')) return next();
    if (!req.page) req.page = {};
    web.send(res, errorPage(web, req, new AppError('not_found')), 404);
  };
  return { pages, notFound };
}
