import express, { type Request, type RequestHandler, type Router } from 'express';
import { checkTerminalCredentials } from '../accounts/accounts.service';
import { TYPE_CODES } from '../catalogue/catalogue';
import { AppError, PROBLEMS } from '../lib/errors';
import { ID_PROBLEM_MESSAGES, maskIdForStaff, parseIdNumber } from '../lib/idnumber';
import { encrypt, openName, sealName } from '../lib/personal';
import { limiter } from '../lib/ratelimit';
import { todayInChina } from '../lib/workdays';
import { h } from './jsx';
import { endSession, startSession, updateKioskResident } from './session';
import type { KioskResident } from './session.model';
import { Button, CsrfField, Page, RadioField, TextField, type FieldError, type Web } from './ui';

const CONSENT_METHODS = ['signature', 'fingerprint', 'paper-form', 'verbal-witnessed'] as const;

/**
 * Kiosk mode: a village or township terminal signs in once a day; the clerk identifies each
 * resident, records their consent, and files the same journey for them in large type. A resident
 * idle for `kioskIdleSeconds` is cleared (server-side on the next request, and by the page itself).
 */
export function kioskPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const perAddressAndName = limiter({ name: 'page-terminal', windowMs: 15 * 60 * 1000, limit: 10, keyOf: (req) => String(req.body?.terminalId ?? '') }, ctx.counterStores);

  const terminal: RequestHandler = (req, res, next) => {
    const s = req.page?.session;
    if (!s || s.doc.kind !== 'kiosk') return res.redirect(303, '/kiosk');
    req.principal = s.principal;
    next();
  };

  /* Terminal sign-in, once a working day. */
  const signInPage = (req: Request, values: Record<string, string>, errors?: FieldError[]) => {
    const base = web.base(req, web.lang(req).t('终端登录', 'Terminal sign-in'), errors);
    const { l } = base;
    return (
      <Page {...base}>
        <h1>{l.t('便民服务终端登录', 'Service terminal sign-in')}</h1>
        <form method="post" action="/kiosk/sign-in" novalidate>
          <CsrfField token={base.csrf()} />
          <TextField name="terminalId" label={l.t('终端编号', 'Terminal id')} value={values.terminalId} errors={errors} autocomplete="username" width="short" />
          <TextField name="secret" type="password" label={l.t('终端密钥', 'Terminal secret')} errors={errors} autocomplete="current-password" width="short" />
          <TextField name="operatorName" label={l.t('值班工作人员姓名', 'Clerk on duty: your name')} value={values.operatorName} errors={errors} width="short" />
          <Button>{l.t('登录', 'Sign in')}</Button>
        </form>
      </Page>
    );
  };
  r.get('/kiosk', (req, res) => {
    if (req.page?.session?.doc.kind === 'kiosk') return res.redirect(303, '/kiosk/start');
    web.send(res, signInPage(req, {}));
  });
  r.post('/kiosk/sign-in', web.csrf, perAddressAndName, async (req, res) => {
    const l = web.lang(req);
    const values = { terminalId: String(req.body.terminalId ?? '').trim().slice(0, 64), operatorName: String(req.body.operatorName ?? '').trim() };
    const secret = String(req.body.secret ?? '').slice(0, 128);
    const errors: FieldError[] = [];
    if (!values.terminalId) errors.push({ field: 'terminalId', message: l.t('请填写终端编号', 'Enter the terminal id') });
    if (!secret) errors.push({ field: 'secret', message: l.t('请填写终端密钥', 'Enter the terminal secret') });
    if (!values.operatorName || values.operatorName.length > 40) errors.push({ field: 'operatorName', message: l.t('请填写您的姓名（40 字以内）', 'Enter your name (up to 40 characters)') });
    if (errors.length) return web.send(res, signInPage(req, values, errors), 400);
    let t;
    try {
      t = await checkTerminalCredentials(ctx, { terminalId: values.terminalId, secret });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'invalid_credentials') throw err;
      return web.send(res, signInPage(req, values, [{ field: 'terminalId', message: l.b(PROBLEMS.invalid_credentials) }]), 401);
    }
    await startSession(ctx, res, { kind: 'kiosk', subject: t.terminalId, operatorName: values.operatorName });
    res.redirect(303, '/kiosk/start');
  });
  r.post('/kiosk/sign-out', terminal, web.csrf, async (req, res) => {
    await endSession(ctx, req, res);
    res.redirect(303, '/kiosk');
  });

  /* Identify the resident (typed in by the clerk; the ID card reader will fill the same fields). */
  const identifyPage = (req: Request, values: Record<string, string>, errors?: FieldError[]) => {
    const base = web.base(req, web.lang(req).t('识别居民', 'Identify the resident'), errors);
    const { l } = base;
    return (
      <Page {...base}>
        <h1>{l.t('为居民办理', 'Serve a resident')}</h1>
        <p className="hint">{l.t('身份证读卡器接入后将自动填写以下信息。', 'When the ID card reader is connected it fills in these fields.')}</p>
        <form method="post" action="/kiosk/identify" novalidate>
          <CsrfField token={base.csrf()} />
          <TextField name="name" label={l.t('居民姓名', "Resident's name")} value={values.name} errors={errors} autocomplete="off" width="short" />
          <TextField name="idNumber" label={l.t('居民身份证号码', "Resident's ID number")} value={values.idNumber} errors={errors} autocomplete="off" width="short" />
          <Button>{l.t('下一步', 'Continue')}</Button>
        </form>
      </Page>
    );
  };

  r.get('/kiosk/start', terminal, (req, res) => {
    const kr = req.page!.session!.doc.kioskResident;
    if (!kr) return web.send(res, identifyPage(req, {}));
    if (!kr.consent) return res.redirect(303, '/kiosk/consent');
    const base = web.base(req, web.lang(req).t('选择事项', 'Choose a service'));
    const { l } = base;
    web.send(
      res,
      <Page {...base}>
        <p className="caption">{l.t('正在为', 'Serving')} {kr.nameMasked}{l.paren(kr.idMasked)}</p>
        <h1>{l.t('选择要办理的事项', 'Choose the service')}</h1>
        <ul className="choices">
          {TYPE_CODES.map((code) => (
            <li><a className="button choice" href={`/kiosk/apply/start/${code}`}>{l.b(ctx.policy.type(code)?.names)}</a></li>
          ))}
        </ul>
        <form method="post" action="/kiosk/finish">
          <CsrfField token={base.csrf()} />
          <Button secondary>{l.t('结束，接待下一位', 'Finish: next resident')}</Button>
        </form>
      </Page>,
    );
  });

  r.post('/kiosk/identify', terminal, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const name = String(req.body.name ?? '').trim();
    const idNumber = String(req.body.idNumber ?? '').trim().toUpperCase();
    const errors: FieldError[] = [];
    if (!name || name.length > 40) errors.push({ field: 'name', message: l.t('请填写居民姓名（40 字以内）', "Enter the resident's name (up to 40 characters)") });
    // The same ID check the filing itself makes (createApplication).
    const parsed = parseIdNumber(idNumber, todayInChina(ctx.clock));
    if (!parsed.ok) errors.push({ field: 'idNumber', message: l.b(ID_PROBLEM_MESSAGES[parsed.problem]) });
    if (errors.length || !parsed.ok) return web.send(res, identifyPage(req, { name, idNumber }, errors), 400);
    const resident: KioskResident = {
      ...sealName(ctx.keys.dataKey, name),
      idNumberEnc: encrypt(ctx.keys.dataKey, parsed.value.normalized),
      idMasked: maskIdForStaff(parsed.value.normalized),
      applications: [],
    };
    await updateKioskResident(ctx, req, resident);
    res.redirect(303, '/kiosk/consent');
  });

  /* Consent: recorded with every filing the kiosk makes for this resident. */
  const consentPage = (req: Request, errors?: FieldError[]) => {
    const base = web.base(req, web.lang(req).t('居民同意', 'Consent'), errors);
    const { l } = base;
    const kr = req.page!.session!.doc.kioskResident!;
    const name = openName(ctx.keys.dataKey, { nameSealed: kr.nameSealed });
    const names: Record<(typeof CONSENT_METHODS)[number], [string, string]> = {
      signature: ['居民在屏幕或纸上签名', 'The resident signed (screen or paper)'],
      fingerprint: ['居民按指印', 'The resident gave a fingerprint'],
      'paper-form': ['居民签署纸质代办同意书', 'The resident signed the paper consent form'],
      'verbal-witnessed': ['居民口头同意，工作人员见证', 'The resident agreed aloud, witnessed by the clerk'],
    };
    return (
      <Page {...base}>
        <h1>{l.t('请居民确认同意代办', 'Ask the resident to consent')}</h1>
        <div className="panel">
          <p>{l.t(
            `本人 ${name} 同意由便民服务终端工作人员代为填写并提交计划生育证件申请，所提供的信息仅用于本次办理。`,
            `I, ${name}, agree that the terminal clerk fills in and submits my family-planning certificate application; what I give is used for this application only.`,
          )}</p>
        </div>
        <form method="post" action="/kiosk/consent" novalidate>
          <CsrfField token={base.csrf()} />
          <RadioField name="method" label={l.t('同意方式', 'How the resident consented')} options={CONSENT_METHODS.map((m) => ({ value: m, label: l.t(...names[m]) }))} errors={errors} />
          <TextField name="reference" label={l.t('同意书编号（选填）', 'Consent form number (optional)')} errors={errors} width="short" />
          <Button>{l.t('居民已同意，继续', 'The resident consents: continue')}</Button>
        </form>
        <form method="post" action="/kiosk/finish">
          <CsrfField token={base.csrf()} />
          <Button secondary>{l.t('居民不同意，取消', 'The resident does not consent: cancel')}</Button>
        </form>
      </Page>
    );
  };
  r.get('/kiosk/consent', terminal, (req, res) => {
    if (!req.page!.session!.doc.kioskResident) return res.redirect(303, '/kiosk/start');
    web.send(res, consentPage(req));
  });
  r.post('/kiosk/consent', terminal, web.csrf, async (req, res) => {
    const kr = req.page!.session!.doc.kioskResident;
    if (!kr) return res.redirect(303, '/kiosk/start');
    const l = web.lang(req);
    const method = CONSENT_METHODS.find((m) => m === req.body.method);
    const reference = String(req.body.reference ?? '').trim();
    if (!method) return web.send(res, consentPage(req, [{ field: 'method', message: l.t('请选择同意方式', 'Choose how the resident consented') }]), 400);
    if (reference.length > 80) return web.send(res, consentPage(req, [{ field: 'reference', message: l.t('编号不超过 80 个字符', 'Up to 80 characters') }]), 400);
    await updateKioskResident(ctx, req, { ...kr, consent: { method, ...(reference ? { reference } : {}) } });
    res.redirect(303, '/kiosk/start');
  });

  /* The resident is done, or walked away: forget them, and have the browser drop what it showed. */
  r.post('/kiosk/finish', terminal, web.csrf, async (req, res) => {
    await updateKioskResident(ctx, req, null);
    res.setHeader('Clear-Site-Data', '"cache"');
    res.redirect(303, '/kiosk/start');
  });
  r.get('/kiosk/idle', async (req, res) => {
    const s = req.page?.session;
    if (s?.doc.kind === 'kiosk' && s.doc.kioskResident) await updateKioskResident(ctx, req, null);
    res.setHeader('Clear-Site-Data', '"cache"');
    const base = web.base(req, web.lang(req).t('已清除', 'Cleared'));
    const { l } = base;
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('为保护隐私，已清除上一位居民的信息', "For privacy, the previous resident's details were cleared")}</h1>
        <p>{l.t(`页面 ${ctx.config.kioskIdleSeconds} 秒无操作。`, `The screen was idle for ${ctx.config.kioskIdleSeconds} seconds.`)}</p>
        <p><a className="button" href={s?.doc.kind === 'kiosk' ? '/kiosk/start' : '/kiosk'}>{l.t('重新开始', 'Start again')}</a></p>
      </Page>,
    );
  });
  return r;
}
