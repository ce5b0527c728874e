import type { Request, RequestHandler, Response } from 'express';
import { STATUS_LABELS, type ApplicationStatus } from '../applications/workflow';
import { DECISION_TITLES, type DecisionDoc } from '../decisions/decisions.model';
import type { AppContext } from '../context';
import type { FieldProblem } from '../lib/errors';
import type { Bilingual, Language } from '../lib/i18n';
import { chinaDate } from '../lib/workdays';
import { Fragment, h, type Child, type SafeHtml } from './jsx';

/** The page's language: `t('中文', 'English')` picks one; `b(text)` picks from a bilingual text. */
export interface Lang {
  code: Language;
  t(zh: string, en: string): string;
  b(text: Bilingual | undefined | null): string;
  /** Punctuation follows the language: "：" and "（…）" in Chinese, ": " and " (…)" in English. */
  colon: string;
  paren(text: string): string;
}

export function makeLang(code: Language): Lang {
  const en = code === 'en';
  return {
    code,
    t: (zh, english) => (en ? english : zh),
    b: (text) => (text ? text[code] : ''),
    colon: en ? ': ' : '：',
    paren: (text) => (en ? ` (${text})` : `（${text}）`),
  };
}

/** A field's problem as the page shows it: the field it belongs to and the message in this language. */
export interface FieldError {
  field: string;
  message: string;
}

export interface PageProps {
  l: Lang;
  title: string;
  /** Current path (for the language switch's way back). */
  path: string;
  /** Who is signed in, as shown in the header. */
  who?: { name: string; kind: 'resident' | 'kiosk' | 'staff'; admin?: boolean };
  /** The CSRF token for this page's forms (made on first use: a page without forms sets no cookie). */
  csrf: () => string;
  kiosk?: { idleSeconds: number; serving: boolean };
  errors?: FieldError[];
  children?: Child;
}

export const assetUrls = { css: '/assets/site.css', js: '/assets/site.js', staffJs: '/assets/officer.js' };

export function Page(p: PageProps): SafeHtml {
  const { l } = p;
  const title = `${p.errors?.length ? l.t('错误：', 'Error: ') : ''}${p.title} - ${l.t('桃源县计划生育证件网上办理', 'Taoyuan County family-planning certificates')}`;
  const other = l.code === 'zh' ? { code: 'en', label: 'English' } : { code: 'zh', label: '中文' };
  return (
    <html lang={l.code === 'zh' ? 'zh-CN' : 'en'}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        {p.kiosk?.serving ? (
          <noscript>
            <meta http-equiv="refresh" content={`${p.kiosk.idleSeconds};url=/kiosk/idle`} />
          </noscript>
        ) : null}
        <title>{title}</title>
        <link rel="stylesheet" href={assetUrls.css} />
        <script src={assetUrls.js} defer />
        {p.who?.kind === 'staff' ? <script src={assetUrls.staffJs} defer /> : null}
      </head>
      <body className={p.kiosk ? 'kiosk' : undefined} data-idle-seconds={p.kiosk?.serving ? p.kiosk.idleSeconds : undefined}>
        <a className="skip" href="#main">{l.t('跳到正文', 'Skip to main content')}</a>
        <header className="masthead">
          <div className="wrap masthead-row">
            <a className="brand" href={p.kiosk ? '/kiosk' : '/'}>
              {l.t('桃源县计划生育证件网上办理', 'Taoyuan County family-planning certificates')}
            </a>
            <nav aria-label={l.t('主导航', 'Main')}>
              <ul className="nav">
                {p.kiosk ? null : (
                  <Fragment>
                    <li><a href="/">{l.t('办事指南', 'Service guides')}</a></li>
                    <li><a href="/query">{l.t('办件查询', 'Case query')}</a></li>
                    {p.who?.kind === 'staff' ? (
                      <Fragment>
                        <li><a href="/officer">{l.t('待办', 'Workqueue')}</a></li>
                        <li><a href="/officer/search">{l.t('查找', 'Search')}</a></li>
                        <li><a href="/officer/register">{l.t('台账', 'Register')}</a></li>
                        <li><a href="/officer/complaints">{l.t('投诉与回访', 'Complaints')}</a></li>
                        <li><a href="/officer/dashboard">{l.t('统计', 'Dashboard')}</a></li>
                        {p.who.admin ? <li><a href="/admin">{l.t('管理', 'Administration')}</a></li> : null}
                      </Fragment>
                    ) : p.who ? (
                      <Fragment>
                        <li><a href="/my">{l.t('我的办件', 'My cases')}</a></li>
                        <li><a href="/my/certificates">{l.t('我的证照', 'My certificates')}</a></li>
                      </Fragment>
                    ) : (
                      <li><a href="/sign-in">{l.t('登录', 'Sign in')}</a></li>
                    )}
                  </Fragment>
                )}
                <li>
                  <a href={`/lang/${other.code}?back=${encodeURIComponent(p.path)}`} lang={other.code === 'zh' ? 'zh-CN' : 'en'} hreflang={other.code}>
                    {other.label}
                  </a>
                </li>
              </ul>
            </nav>
            {p.who ? (
              <form method="post" action={p.who.kind === 'kiosk' ? '/kiosk/sign-out' : '/sign-out'} className="signout">
                <CsrfField token={p.csrf()} />
                <span className="who">{p.who.name}</span>
                <button type="submit" className="link-button">{l.t('退出', 'Sign out')}</button>
              </form>
            ) : null}
          </div>
        </header>
        <main id="main" className="wrap" tabindex={-1}>
          {p.errors?.length ? <ErrorSummary l={l} errors={p.errors} /> : null}
          {p.children}
        </main>
        <footer className="footer">
          <div className="wrap">
            <p>{l.t('桃源县卫生健康局 · 全部事项免费办理', 'Taoyuan County Health Commission · every service is free of charge')}</p>
            <p><a href="/verify">{l.t('证照核验', 'Verify a certificate')}</a> · <a href="/precheck">{l.t('条件自测', 'Eligibility pre-check')}</a></p>
          </div>
        </footer>
      </body>
    </html>
  );
}

export function ErrorSummary({ l, errors }: { l: Lang; errors: FieldError[] }): SafeHtml {
  return (
    <div className="error-summary" role="alert" aria-labelledby="error-summary-title" tabindex={-1}>
      <h2 id="error-summary-title">{l.t('请修改以下问题', 'There is a problem')}</h2>
      <ul>
        {errors.map((e) => (
          <li>{e.field ? <a href={`#${fieldId(e.field)}`}>{e.message}</a> : e.message}</li>
        ))}
      </ul>
    </div>
  );
}

/** Field names hold dots (`husband.name`); ids use dashes so that `#id` links work everywhere. */
export const fieldId = (name: string): string => `f-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

export const CsrfField = ({ token }: { token: string }): SafeHtml => <input type="hidden" name="_csrf" value={token} />;

const errorFor = (errors: FieldError[] | undefined, name: string) => errors?.find((e) => e.field === name);

interface FieldProps {
  name: string;
  label: string;
  hint?: string;
  value?: string;
  errors?: FieldError[];
}

export function TextField(p: FieldProps & { type?: string; autocomplete?: string; inputmode?: string; maxlength?: number; width?: 'short' | 'long' }): SafeHtml {
  const id = fieldId(p.name);
  const err = errorFor(p.errors, p.name);
  const described = [p.hint ? `${id}-hint` : '', err ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${err ? ' field-error' : ''}`}>
      <label htmlFor={id}>{p.label}</label>
      {p.hint ? <p className="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {err ? <p className="error-message" id={`${id}-error`}>{err.message}</p> : null}
      <input
        id={id}
        name={p.name}
        type={p.type ?? 'text'}
        value={p.value ?? ''}
        autocomplete={p.autocomplete}
        inputmode={p.inputmode}
        maxlength={p.maxlength}
        className={p.width === 'short' ? 'input-short' : undefined}
        aria-describedby={described}
        aria-invalid={err ? 'true' : undefined}
        spellcheck="false"
      />
    </div>
  );
}

export function TextArea(p: FieldProps & { maxlength: number }): SafeHtml {
  const id = fieldId(p.name);
  const err = errorFor(p.errors, p.name);
  return (
    <div className={`field${err ? ' field-error' : ''}`}>
      <label htmlFor={id}>{p.label}</label>
      {p.hint ? <p className="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {err ? <p className="error-message" id={`${id}-error`}>{err.message}</p> : null}
      <textarea id={id} name={p.name} rows={5} maxlength={p.maxlength} aria-invalid={err ? 'true' : undefined}>{p.value ?? ''}</textarea>
    </div>
  );
}

export function SelectField(p: FieldProps & { options: { value: string; label: string }[]; blank?: string }): SafeHtml {
  const id = fieldId(p.name);
  const err = errorFor(p.errors, p.name);
  return (
    <div className={`field${err ? ' field-error' : ''}`}>
      <label htmlFor={id}>{p.label}</label>
      {p.hint ? <p className="hint" id={`${id}-hint`}>{p.hint}</p> : null}
      {err ? <p className="error-message" id={`${id}-error`}>{err.message}</p> : null}
      <select id={id} name={p.name} aria-invalid={err ? 'true' : undefined} aria-describedby={p.hint ? `${id}-hint` : undefined}>
        {p.blank !== undefined ? <option value="">{p.blank}</option> : null}
        {p.options.map((o) => <option value={o.value} selected={o.value === p.value}>{o.label}</option>)}
      </select>
    </div>
  );
}

export function CheckboxField(p: FieldProps & { checked: boolean }): SafeHtml {
  const id = fieldId(p.name);
  const err = errorFor(p.errors, p.name);
  return (
    <div className={`field checkbox${err ? ' field-error' : ''}`}>
      {err ? <p className="error-message" id={`${id}-error`}>{err.message}</p> : null}
      <input type="checkbox" id={id} name={p.name} value="true" checked={p.checked} aria-describedby={p.hint ? `${id}-hint` : undefined} />
      <label htmlFor={id}>{p.label}</label>
      {p.hint ? <p className="hint" id={`${id}-hint`}>{p.hint}</p> : null}
    </div>
  );
}

export function RadioField(p: FieldProps & { options: { value: string; label: string; hint?: string }[] }): SafeHtml {
  const id = fieldId(p.name);
  const err = errorFor(p.errors, p.name);
  return (
    <div className={`field${err ? ' field-error' : ''}`}>
      <fieldset aria-describedby={p.hint ? `${id}-hint` : undefined}>
        <legend>{p.label}</legend>
        {p.hint ? <p className="hint" id={`${id}-hint`}>{p.hint}</p> : null}
        {err ? <p className="error-message" id={`${id}-error`}>{err.message}</p> : null}
        {p.options.map((o, i) => (
          <div className="radio">
            <input type="radio" id={i === 0 ? id : `${id}-${i}`} name={p.name} value={o.value} checked={o.value === p.value} />
            <label htmlFor={i === 0 ? id : `${id}-${i}`}>{o.label}</label>
            {o.hint ? <p className="hint">{o.hint}</p> : null}
          </div>
        ))}
      </fieldset>
    </div>
  );
}

export const Button = ({ children, secondary, name, value }: { children?: Child; secondary?: boolean; name?: string; value?: string }): SafeHtml => (
  <button type="submit" className={secondary ? 'button secondary' : 'button'} name={name} value={value}>{children}</button>
);

export const BackLink = ({ href, l }: { href: string; l: Lang }): SafeHtml => <a className="back" href={href}>{l.t('返回', 'Back')}</a>;

export function SummaryList({ rows }: { rows: { key: string; value: Child; action?: { href: string; label: string } }[] }): SafeHtml {
  return (
    <dl className="summary">
      {rows.map((r) => (
        <div className="summary-row">
          <dt>{r.key}</dt>
          <dd>{r.value}</dd>
          {r.action ? <dd className="summary-action"><a href={r.action.href}>{r.action.label}</a></dd> : null}
        </div>
      ))}
    </dl>
  );
}

export function StatusTag({ l, status }: { l: Lang; status: string }): SafeHtml {
  return <strong className={`tag tag-${status}`}>{statusName(l, status)}</strong>;
}

/** The workflow's own labels, as a heading-style tag ("Waiting for review", not "waiting for review"). */
export function statusName(l: Lang, status: string): string {
  const label = STATUS_LABELS[status as ApplicationStatus];
  if (!label) return status;
  return l.code === 'zh' ? label.zh : label.en.replace(/^a /, '').replace(/^./, (c) => c.toUpperCase());
}

/** Dates as people in China read them: the calendar day in Beijing time. */
export function day(d: Date | string | null | undefined): string {
  if (!d) return '';
  if (typeof d === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(d)) return d;
  return chinaDate(new Date(d));
}

export function dateTime(d: Date | string | null | undefined): string {
  if (!d) return '';
  return new Date(new Date(d).getTime() + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
}

/** A case's written decisions (准予 / 不予 / 补正), each with its number, date and a download link (`href`). */
export function WrittenDecisions({ l, decisions, href }: { l: Lang; decisions: Pick<DecisionDoc, '_id' | 'kind' | 'number' | 'decidedAt'>[]; href: (d: Pick<DecisionDoc, '_id'>) => string }): SafeHtml {
  return (
    <Fragment>
      <h2>{l.t('书面决定', 'Written decisions')}</h2>
      <ul className="decisions">
        {decisions.map((d) => (
          <li>
            <strong>{l.b(DECISION_TITLES[d.kind])}</strong> <span>{d.number}</span> <time datetime={new Date(d.decidedAt).toISOString()}>{day(d.decidedAt)}</time>
            <br />
            <a href={href(d)} download>{l.t('下载 PDF（带数字签名）', 'Download the signed PDF')}<span className="visually-hidden"> {d.number}</span></a>
          </li>
        ))}
      </ul>
    </Fragment>
  );
}

/** What every page handler needs: the context and the request's page basics. */
export interface Web {
  ctx: AppContext;
  /** The common props of a page for this request. */
  base(req: Request, title: string, errors?: FieldError[]): PageProps;
  lang(req: Request): Lang;
  send(res: Response, page: SafeHtml, status?: number): void;
  /** A posted form's CSRF token must match this visitor's session (or anonymous cookie). */
  csrf: RequestHandler;
  /** Field problems of a refusal, in the page's language, keyed by form field name. */
  fieldErrors(req: Request, problems: FieldProblem[] | undefined, labels?: (field: string) => string | undefined): FieldError[];
}

/** What a history entry's action means, for the resident's and the officer's timelines (the code itself when unnamed). */
const ACTION_NAMES: Record<string, [string, string]> = {
  create: ['创建草稿', 'Draft started'],
  edit: ['修改申请表', 'Form changed'],
  upload: ['上传材料', 'Document added'],
  'remove-document': ['删除材料', 'Document removed'],
  submit: ['提交申请', 'Submitted'],
  resubmit: ['补正后重新提交', 'Resubmitted with the documents asked for'],
  withdraw: ['撤回申请', 'Withdrawn'],
  claim: ['开始审核', 'Review started'],
  release: ['审核人员释放', 'Back in the queue'],
  approve: ['审核通过', 'Approved'],
  return: ['退回补正', 'Returned for more documents'],
  reject: ['不予批准', 'Refused'],
  complain: ['提出投诉', 'Complaint made'],
  'complaint-answered': ['投诉已答复', 'Complaint answered'],
  'revoke-certificate': ['证件注销', 'Certificate revoked'],
  'certificate-superseded': ['证件被新证取代', 'Certificate superseded'],
  'recompute-deadline': ['重新计算办结时限', 'Deadline recounted'],
};

export const actionName = (l: Lang, action: string): string => {
  const names = ACTION_NAMES[action];
  return names ? l.t(...names) : action;
};
