import express, { type Request, type Router } from 'express';
import { passwordResetBody, phoneCodeBody, registerBody } from '../accounts/accounts.routes';
import { checkCredentials, registerApplicant, requestPhoneCode, resetPassword } from '../accounts/accounts.service';
import { roleHolds } from '../lib/auth';
import { AppError, PROBLEMS } from '../lib/errors';
import { idHash } from '../lib/personal';
import { limiter } from '../lib/ratelimit';
import { compile, toFieldProblems } from '../lib/validation';
import { Fragment, h, type SafeHtml } from './jsx';
import { endSession, startSession } from './session';
import { Button, CsrfField, Page, TextField, type FieldError, type Lang, type Web } from './ui';

const FIFTEEN_MINUTES = 15 * 60 * 1000;

/** Where to go after signing in: only our own resident pages. */
export const nextPath = (s: unknown): string => (typeof s === 'string' && /^\/(apply|my)(\/[A-Za-z0-9/_-]*)?$/.test(s) ? s : '/my');

export function accountPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const perAddressAndName = limiter({ name: 'page-login', windowMs: FIFTEEN_MINUTES, limit: 10, keyOf: (req) => (typeof req.body?.idNumber === 'string' ? idHash(ctx.keys.idHash, req.body.idNumber.trim().toUpperCase()) : undefined) }, ctx.counterStores);
  const perAddress = limiter({ name: 'page-login-ip', windowMs: FIFTEEN_MINUTES, limit: 300 }, ctx.counterStores);
  // Both steps of the page (send the code, register) count here: twice the API's registrations.
  const registerLimit = limiter({ name: 'page-register', windowMs: FIFTEEN_MINUTES, limit: 60 }, ctx.counterStores);
  const validateRegistration = compile(registerBody);
  // Both steps of the reset page count here, like registration's.
  const resetLimit = limiter({ name: 'page-password-reset', windowMs: FIFTEEN_MINUTES, limit: 60 }, ctx.counterStores);
  const validateResetRequest = compile(phoneCodeBody);
  const validateReset = compile(passwordResetBody);

  const labels = (req: Request) => {
    const l = web.lang(req);
    return {
      idNumber: l.t('居民身份证号码', 'Resident ID number'),
      name: l.t('姓名', 'Full name'),
      phone: l.t('手机号码', 'Mobile phone number'),
      code: l.t('短信验证码', 'Code from the text message'),
      password: l.t('密码', 'Password'),
    } as Record<string, string>;
  };

  const signInPage = (req: Request, values: { idNumber?: string }, errors?: FieldError[]) => {
    const base = web.base(req, web.lang(req).t('登录', 'Sign in'), errors);
    const { l } = base;
    const next = nextPath(req.query.next ?? req.body?.next);
    return (
      <Page {...base}>
        <h1>{l.t('登录', 'Sign in')}</h1>
        <form method="post" action="/sign-in" novalidate>
          <CsrfField token={base.csrf()} />
          <input type="hidden" name="next" value={next} />
          <TextField name="idNumber" label={labels(req).idNumber!} value={values.idNumber} errors={errors} autocomplete="username" width="short" />
          <TextField name="password" type="password" label={labels(req).password!} errors={errors} autocomplete="current-password" width="short" />
          <Button>{l.t('登录', 'Sign in')}</Button>
        </form>
        <p>{l.t('还没有账号？', 'No account yet?')} <a href={`/register?next=${encodeURIComponent(next)}`}>{l.t('注册', 'Create an account')}</a></p>
        <p><a href="/reset-password">{l.t('忘记密码？用短信验证码重置', 'Forgotten your password? Reset it with a text message code')}</a></p>
      </Page>
    );
  };

  r.get('/sign-in', (req, res) => web.send(res, signInPage(req, {})));
  r.post('/sign-in', perAddress, web.csrf, perAddressAndName, async (req, res) => {
    const l = web.lang(req);
    const idNumber = String(req.body.idNumber ?? '').trim().toUpperCase();
    const password = String(req.body.password ?? '');
    const errors: FieldError[] = [];
    if (!idNumber) errors.push({ field: 'idNumber', message: l.t('请填写身份证号码', 'Enter your ID number') });
    if (!password) errors.push({ field: 'password', message: l.t('请填写密码', 'Enter your password') });
    if (errors.length) return web.send(res, signInPage(req, { idNumber }, errors), 400);
    let account;
    try {
      account = await checkCredentials(ctx, { idNumber, password: password.slice(0, 128) });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'invalid_credentials') throw err;
      return web.send(res, signInPage(req, { idNumber }, [{ field: 'idNumber', message: l.b(PROBLEMS.invalid_credentials) }]), 401);
    }
    // The resident sign-in is for accounts that file their own cases (staff sign in on theirs).
    if (!roleHolds(account.role, 'application:read-own')) {
      return web.send(res, signInPage(req, { idNumber }, [{ field: 'idNumber', message: l.b(PROBLEMS.invalid_credentials) }]), 401);
    }
    await startSession(ctx, res, { kind: 'resident', subject: account.id });
    res.redirect(303, nextPath(req.body.next));
  });

  const registerPage = (req: Request, values: Record<string, string>, errors: FieldError[] | undefined, step: 'details' | 'code', codeSent = false) => {
    const base = web.base(req, web.lang(req).t('注册账号', 'Create an account'), errors);
    const { l } = base;
    const lab = labels(req);
    const next = nextPath(req.query.next ?? req.body?.next);
    // Two steps, each form with one button, so that Enter does what the page says: first the details
    // and "send the code" (a six-digit code to the phone), then the code and password and "create
    // account" (the registration API's rules and use case), with "send again" as a form of its own.
    const heading = (
      <Fragment>
        <h1>{l.t('注册账号', 'Create an account')}</h1>
        <p>{l.t('用本人身份证号码注册。以后用身份证号码和密码登录。', 'Register with your own ID number. You will sign in with it and your password.')}</p>
      </Fragment>
    );
    const details = (
      <Fragment>
        <TextField name="name" label={lab.name!} value={values.name} errors={errors} autocomplete="name" width="short" />
        <TextField name="idNumber" label={lab.idNumber!} hint={l.t('18 位，最后一位可能是 X', '18 characters; the last may be X')} value={values.idNumber} errors={errors} autocomplete="off" width="short" />
        <TextField name="phone" type="tel" label={lab.phone!} hint={l.t('验证码和办理进度会发短信到这个号码', 'The code and progress messages go to this number')} value={values.phone} errors={errors} autocomplete="tel" inputmode="numeric" width="short" />
      </Fragment>
    );
    if (step === 'details') {
      return (
        <Page {...base}>
          {heading}
          <form method="post" action="/register" novalidate>
            <CsrfField token={base.csrf()} />
            <input type="hidden" name="next" value={next} />
            {details}
            <Button name="action" value="send-code">{l.t('发送验证码', 'Send the code')}</Button>
          </form>
        </Page>
      );
    }
    return (
      <Page {...base}>
        {heading}
        <form method="post" action="/register" novalidate>
          <CsrfField token={base.csrf()} />
          <input type="hidden" name="next" value={next} />
          {details}
          {codeSent ? <p className="notice" role="status">{l.t('验证码已发送，10 分钟内有效。', 'The code has been sent; it is valid for 10 minutes.')}</p> : null}
          <TextField name="code" label={lab.code!} hint={l.t('6 位数字', '6 digits')} value={values.code} errors={errors} autocomplete="one-time-code" inputmode="numeric" width="short" />
          <TextField name="password" type="password" label={lab.password!} hint={l.t('至少 8 位', 'At least 8 characters')} errors={errors} autocomplete="new-password" width="short" />
          <Button name="action" value="register">{l.t('注册', 'Create account')}</Button>
        </form>
        <ResendCode l={l} action="/register" csrf={base.csrf()} keep={{ next, name: values.name ?? '', idNumber: values.idNumber ?? '', phone: values.phone ?? '' }} />
      </Page>
    );
  };

  r.get('/register', (req, res) => web.send(res, registerPage(req, {}, undefined, 'details')));
  r.post('/register', registerLimit, web.csrf, async (req, res) => {
    const input = {
      idNumber: String(req.body.idNumber ?? '').trim().toUpperCase(),
      name: String(req.body.name ?? '').trim(),
      phone: String(req.body.phone ?? '').trim(),
      password: String(req.body.password ?? ''),
      code: String(req.body.code ?? '').trim(),
    };
    const keep = { idNumber: input.idNumber, name: input.name, phone: input.phone, code: input.code };
    const lab = labels(req);
    const refused = (err: unknown) => {
      const codes = ['validation_failed', 'already_exists', 'invalid_code', 'rate_limited', 'sms_unavailable'];
      if (!(err instanceof AppError) || !codes.includes(err.code)) throw err;
      const l = web.lang(req);
      const field = err.code === 'invalid_code' ? 'code' : err.code === 'validation_failed' ? 'idNumber' : 'phone';
      const errors = err.errors ? web.fieldErrors(req, err.errors, (f) => lab[f]) : [{ field, message: l.b(err.detail ?? PROBLEMS[err.code]) }];
      return web.send(res, registerPage(req, keep, errors, req.body.action === 'send-code' ? 'details' : 'code'), err.status);
    };
    if (req.body.action === 'send-code') {
      try {
        await requestPhoneCode(ctx, { purpose: 'register', phone: input.phone });
      } catch (err) {
        return refused(err);
      }
      return web.send(res, registerPage(req, keep, undefined, 'code', true));
    }
    // The registration API's own body rules, then its use case: the page adds nothing of its own.
    if (!validateRegistration(input)) {
      return web.send(res, registerPage(req, keep, web.fieldErrors(req, toFieldProblems(validateRegistration.errors), (f) => lab[f]), 'code'), 400);
    }
    try {
      await registerApplicant(ctx, input);
    } catch (err) {
      return refused(err);
    }
    // Registration answers alike whether or not the ID number had an account; signing in with the
    // password just chosen works only for a new account (or the owner's own password).
    try {
      const account = await checkCredentials(ctx, { idNumber: input.idNumber, password: input.password.slice(0, 128) });
      await startSession(ctx, res, { kind: 'resident', subject: account.id });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'invalid_credentials') throw err;
      return res.redirect(303, `/sign-in?next=${encodeURIComponent(nextPath(req.body.next))}`);
    }
    res.redirect(303, nextPath(req.body.next));
  });

  /* Forgotten password: the ID number → a code to the phone on record → the code and a new password. */
  const resetPage = (req: Request, values: Record<string, string>, errors: FieldError[] | undefined, step: 'id' | 'code', codeSent = false) => {
    const base = web.base(req, web.lang(req).t('重置密码', 'Reset your password'), errors);
    const { l } = base;
    const lab = labels(req);
    const heading = <h1>{l.t('重置密码', 'Reset your password')}</h1>;
    if (step === 'id') {
      return (
        <Page {...base}>
          {heading}
          <p>{l.t('验证码会发到注册账号时登记的手机号码。', 'A code goes to the mobile number given when the account was registered.')}</p>
          <form method="post" action="/reset-password" novalidate>
            <CsrfField token={base.csrf()} />
            <TextField name="idNumber" label={lab.idNumber!} hint={l.t('18 位，最后一位可能是 X', '18 characters; the last may be X')} value={values.idNumber} errors={errors} autocomplete="username" width="short" />
            <Button name="action" value="send-code">{l.t('发送验证码', 'Send the code')}</Button>
          </form>
          <p className="hint">{l.t('手机号码已经不用了？请携带身份证到乡镇便民服务中心办理。', 'No longer have that phone number? Take your ID card to the township service centre.')}</p>
        </Page>
      );
    }
    return (
      <Page {...base}>
        {heading}
        {/* The same words whether or not the ID number has an account: the page tells nobody who is registered. */}
        {codeSent ? <p className="notice" role="status">{l.t('如果该身份证号码已注册，验证码已发送到登记的手机，10 分钟内有效。', 'If this ID number has an account, a code has been sent to the phone on record; it is valid for 10 minutes.')}</p> : null}
        <form method="post" action="/reset-password" novalidate>
          <CsrfField token={base.csrf()} />
          <TextField name="idNumber" label={lab.idNumber!} value={values.idNumber} errors={errors} autocomplete="username" width="short" />
          <TextField name="code" label={lab.code!} hint={l.t('6 位数字', '6 digits')} value={values.code} errors={errors} autocomplete="one-time-code" inputmode="numeric" width="short" />
          <TextField name="password" type="password" label={l.t('新密码', 'New password')} hint={l.t('至少 8 位', 'At least 8 characters')} errors={errors} autocomplete="new-password" width="short" />
          <Button name="action" value="reset">{l.t('重置密码并登录', 'Reset the password and sign in')}</Button>
        </form>
        <ResendCode l={l} action="/reset-password" csrf={base.csrf()} keep={{ idNumber: values.idNumber ?? '' }} />
      </Page>
    );
  };

  r.get('/reset-password', (req, res) => web.send(res, resetPage(req, {}, undefined, 'id')));
  r.post('/reset-password', resetLimit, web.csrf, async (req, res) => {
    const lab = labels(req);
    const idNumber = String(req.body.idNumber ?? '').trim().toUpperCase();
    const code = String(req.body.code ?? '').trim();
    const password = String(req.body.password ?? '');
    const sending = req.body.action === 'send-code';
    const label = (f: string) => (f === 'password' ? web.lang(req).t('新密码', 'New password') : lab[f]);
    const refused = (err: unknown, step: 'id' | 'code') => {
      if (!(err instanceof AppError) || !['validation_failed', 'invalid_code', 'rate_limited'].includes(err.code)) throw err;
      const l = web.lang(req);
      const errors = err.errors ? web.fieldErrors(req, err.errors, label) : [{ field: err.code === 'invalid_code' ? 'code' : 'idNumber', message: l.b(err.detail ?? PROBLEMS[err.code]) }];
      return web.send(res, resetPage(req, { idNumber, code }, errors, step), err.status);
    };
    // The API's own body rules and use cases (POST /api/v1/auth/phone-code and /password-reset).
    if (sending) {
      const input = { purpose: 'reset' as const, idNumber };
      if (!idNumber || !validateResetRequest(input)) {
        return web.send(res, resetPage(req, { idNumber }, [{ field: 'idNumber', message: web.lang(req).t('请填写 18 位居民身份证号码', 'Enter your 18-character resident ID number') }], 'id'), 400);
      }
      try {
        await requestPhoneCode(ctx, input);
      } catch (err) {
        return refused(err, 'id');
      }
      return web.send(res, resetPage(req, { idNumber }, undefined, 'code', true));
    }
    const input = { idNumber, code, password };
    if (!validateReset(input)) {
      return web.send(res, resetPage(req, { idNumber, code }, web.fieldErrors(req, toFieldProblems(validateReset.errors), label), 'code'), 400);
    }
    try {
      await resetPassword(ctx, input);
    } catch (err) {
      return refused(err, 'code');
    }
    // The reset ended every session of the account (the service's rule); this one starts after it.
    const account = await checkCredentials(ctx, { idNumber, password: password.slice(0, 128) });
    await startSession(ctx, res, { kind: 'resident', subject: account.id });
    res.redirect(303, '/my');
  });

  r.post('/sign-out', web.csrf, async (req, res) => {
    await endSession(ctx, req, res);
    res.redirect(303, '/signed-out');
  });
  r.get('/signed-out', (req, res) => {
    const base = web.base(req, web.lang(req).t('已退出', 'Signed out'));
    web.send(res, <Page {...base}><h1>{base.l.t('您已安全退出', 'You have signed out')}</h1><p><a href="/">{base.l.t('返回首页', 'Go to the home page')}</a></p></Page>);
  });
  return r;
}

/** "Send the code again": a form of its own (so Enter in the main form never resends), carrying what step 1 asked. */
function ResendCode({ l, action, csrf, keep }: { l: Lang; action: string; csrf: string; keep: Record<string, string> }): SafeHtml {
  return (
    <form method="post" action={action} novalidate>
      <CsrfField token={csrf} />
      {Object.entries(keep).map(([name, value]) => <input type="hidden" name={name} value={value} />)}
      <p className="hint">{l.t('没有收到短信？', 'No text message?')}</p>
      <Button name="action" value="send-code" secondary>{l.t('重新发送验证码', 'Send the code again')}</Button>
    </form>
  );
}
