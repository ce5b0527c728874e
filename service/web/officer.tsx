import express, { type Request, type Router } from 'express';
import { checkCredentials } from '../accounts/accounts.service';
import type { ApplicationDoc } from '../applications/applications.model';
import { formOf, loadVisible, toView } from '../applications/applications.service';
import { recordAccess } from '../audit/audit.service';
import { getCertificate } from '../certificates/certificates.service';
import { printableCertificate } from '../certificates/print';
import { complaintView, listForApplication } from '../complaints/complaints.service';
import { COUNTY, TOWNSHIPS, township, village } from '../divisions/divisions';
import { sendDocument, sendPreviewPage } from '../documents/documents.routes';
import { pdfPreviews, type Preview } from '../documents/preview';
import { evaluateApplication } from '../eligibility/eligibility.service';
import { familyFlags, familyOf, type FamilyFlag } from '../families/families.service';
import type { Principal } from '../lib/auth';
import { compile, toFieldProblems } from '../lib/validation';
import { ratingOf, ratingView } from '../ratings/ratings.service';
import { REJECT_REASONS, rejectReason } from '../review/reasons';
import { claim, decide, queue, release, revealIdNumbers, type DecisionInput } from '../review/review.service';
import { decisionBody } from '../review/review.routes';
import { getPath, SECTIONS } from './forms';
import { STATUS_LABELS } from '../applications/workflow';
import { TYPE_CODES } from '../catalogue/catalogue';
import { countyWide } from '../lib/access';
import { can, roleHolds } from '../lib/auth';
import { AppError, notFound, PROBLEMS } from '../lib/errors';
import { limiter } from '../lib/ratelimit';
import { chinaDate } from '../lib/workdays';
import { Fragment, h, type SafeHtml } from './jsx';
import { startSession } from './session';
import { actionName, BackLink, Button, CsrfField, fieldId, Page, SelectField, StatusTag, SummaryList, TextField, day, dateTime, statusName, type FieldError, type Lang, type Web } from './ui';
import { staff } from './staff';

const FIFTEEN_MINUTES = 15 * 60 * 1000;
const PAGE_SIZE = 20;

const CLAIM_FILTERS = ['unclaimed', 'claimed', 'mine'] as const;
type ClaimFilter = (typeof CLAIM_FILTERS)[number];

/** The townships a person's queue spans: an admin's and a county officer's every one, a township officer's own. */
function townshipsOf(p: Principal) {
  if (countyWide(p)) return [...TOWNSHIPS];
  const codes = p.jurisdiction ?? [];
  return TOWNSHIPS.filter((t) => codes.some((c) => t.code.startsWith(c) || c.startsWith(t.code)));
}

/** A residence code as people say it: township and village by name (the code stays on the form section). */
function placeName(code: string | null | undefined): string {
  if (!code) return '';
  const v = village(code);
  if (v) return `${v.township.name}${v.name}`;
  return township(code.slice(0, 9))?.name ?? code;
}

/** The time a claim has left, in whole minutes, with the clock time it runs out. */
function LeaseLeft({ l, until, now }: { l: Lang; until: Date | string; now: Date }): SafeHtml {
  const minutes = Math.max(0, Math.ceil((new Date(until).getTime() - now.getTime()) / 60_000));
  return <span className="lease">{l.t(`剩余 ${minutes} 分钟`, `${minutes} min left`)}{l.paren(`${l.t('至', 'until')} ${dateTime(until).slice(11)}`)}</span>;
}

/** A PDF's first pages, drawn by the service, each in a sandboxed frame; or why not, with the download. */
function PdfPages({ l, href, title, preview }: { l: Lang; href: string; title: string; preview: Preview | { ok: false; reason: 'pending' } | undefined }): SafeHtml {
  if (!preview?.ok) {
    const why: Record<string, [string, string]> = {
      unreadable: ['无法读取这个 PDF 文件', 'this PDF file cannot be read'],
      password: ['文件有密码保护', 'the file is password-protected'],
      'too-complex': ['文件过大或过于复杂', 'the file is too large or too complex'],
      pending: ['预览正在生成，稍后刷新本页即可看到', 'it is still being made: reload this page in a moment'],
    };
    const [zh, en] = why[preview?.reason ?? ''] ?? ['请稍后刷新本页再试', 'reload this page to try again'];
    return (
      <p className="notice preview-unavailable">
        {l.t(`预览不可用：${zh}。`, `No preview: ${en}. `)}
        <a href={href}>{l.t('下载原件查看', 'Download the original')}</a>
      </p>
    );
  }
  const shown = preview.pages.length;
  return (
    <Fragment>
      <div className="document-pages">
        {/* Each frame is the size of its image (attributes: the CSP allows no inline style), border included. */}
        {preview.pages.map((size, i) => (
          <iframe className="document-page" src={`${href}/pages/${i + 1}`} width={String(size.width + 2)} height={String(size.height + 2)} title={`${title}${l.t(`，第 ${i + 1} 页`, `, page ${i + 1}`)}`} sandbox="" referrerpolicy="no-referrer" />
        ))}
      </div>
      <p className="hint">
        {preview.pageCount > shown
          ? l.t(`显示前 ${shown} 页，共 ${preview.pageCount} 页（本系统转成的图片）；其余页面请`, `The first ${shown} of ${preview.pageCount} pages, as images the service made; for the rest, `)
          : l.t(`共 ${shown} 页，本系统转成的图片；原件请`, `${shown === 1 ? 'One page' : `${shown} pages`}, as images the service made; `)}
        <a href={href}>{l.t('下载原件', 'download the original')}</a>
        {l.t('。', '.')}
      </p>
    </Fragment>
  );
}

/** The page's keyboard shortcuts, listed where they work (the small script in assets/officer.js). */
function Shortcuts({ l, keys }: { l: Lang; keys: [string, string][] }): SafeHtml {
  return (
    <details className="shortcuts" data-key="help">
      <summary>{l.t('键盘快捷键', 'Keyboard shortcuts')}</summary>
      <p className="hint">{l.t('在输入框外按键即可；不用快捷键，所有操作照样可以点选。按 ? 打开或收起本说明。', 'Press a key outside a text field; every action also works by clicking. Press ? to open or close this list.')}</p>
      <dl className="keys">
        {keys.map(([k, what]) => (
          <div>
            <dt><kbd>{k}</kbd></dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

/**
 * The officer's workbench: staff (officers and admins) sign in by user name to a session of their
 * own kind; the pages call the review use cases the JSON API calls, with the same principal, so the
 * queue's scope (level and jurisdiction) and the claim rules are the service's, not the page's.
 */
export function officerPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const perName = limiter({ name: 'page-staff-login', windowMs: FIFTEEN_MINUTES, limit: 10, keyOf: (req) => (typeof req.body?.username === 'string' ? req.body.username.trim().toLowerCase().slice(0, 64) : undefined) }, ctx.counterStores);
  const perAddress = limiter({ name: 'page-staff-login-ip', windowMs: FIFTEEN_MINUTES, limit: 300 }, ctx.counterStores);

  const signInPage = (req: Request, values: { username?: string }, errors?: FieldError[]) => {
    const base = web.base(req, web.lang(req).t('工作人员登录', 'Staff sign-in'), errors);
    const { l } = base;
    return (
      <Page {...base}>
        <h1>{l.t('工作人员登录', 'Staff sign-in')}</h1>
        <form method="post" action="/officer/sign-in" novalidate>
          <CsrfField token={base.csrf()} />
          <TextField name="username" label={l.t('用户名', 'User name')} value={values.username} errors={errors} autocomplete="username" width="short" />
          <TextField name="password" type="password" label={l.t('密码', 'Password')} errors={errors} autocomplete="current-password" width="short" />
          <Button>{l.t('登录', 'Sign in')}</Button>
        </form>
      </Page>
    );
  };

  r.get('/officer/sign-in', (req, res) => {
    if (req.page?.session?.doc.kind === 'staff') return res.redirect(303, '/officer');
    web.send(res, signInPage(req, {}));
  });
  r.post('/officer/sign-in', perAddress, web.csrf, perName, async (req, res) => {
    const l = web.lang(req);
    const username = String(req.body.username ?? '').trim().slice(0, 64);
    const password = String(req.body.password ?? '').slice(0, 128);
    const errors: FieldError[] = [];
    if (!username) errors.push({ field: 'username', message: l.t('请填写用户名', 'Enter your user name') });
    if (!password) errors.push({ field: 'password', message: l.t('请填写密码', 'Enter your password') });
    if (errors.length) return web.send(res, signInPage(req, { username }, errors), 400);
    const refused = () => web.send(res, signInPage(req, { username }, [{ field: 'username', message: l.b(PROBLEMS.invalid_credentials) }]), 401);
    let account;
    try {
      account = await checkCredentials(ctx, { username, password });
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'invalid_credentials') throw err;
      return refused();
    }
    // Residents sign in on their own page; the same answer as a wrong password tells nothing more.
    if (!roleHolds(account.role, 'queue:read')) return refused();
    await startSession(ctx, res, { kind: 'staff', subject: account.id });
    res.redirect(303, '/officer');
  });

  /* The workqueue: the review service's queue, committed deadline first, one page at a time. */
  r.get('/officer', staff, async (req, res) => {
    const l = web.lang(req);
    const p = req.principal!;
    const q = req.query;
    const type = typeof q.type === 'string' && (TYPE_CODES as readonly string[]).includes(q.type) ? q.type : undefined;
    const overdue = q.overdue === 'true';
    const claimFilter = typeof q.claim === 'string' && (CLAIM_FILTERS as readonly string[]).includes(q.claim) ? (q.claim as ClaimFilter) : q.mine === 'true' ? 'mine' : undefined;
    const places = townshipsOf(p);
    const town = typeof q.township === 'string' && places.some((t) => t.code === q.township) ? q.township : undefined;
    const cursor = typeof q.cursor === 'string' && q.cursor.length <= 200 ? q.cursor : undefined;
    const page = await queue(ctx, p, {
      type,
      overdue,
      township: town,
      mine: claimFilter === 'mine',
      claim: claimFilter === 'mine' ? undefined : claimFilter,
      limit: PAGE_SIZE,
      cursor,
    });
    const held = can(p, 'application:decide') ? (await queue(ctx, p, { mine: true, limit: 50 })).items : [];
    const typeName = (code: string) => l.b(ctx.policy.type(code)?.names) || code;
    const filters = new URLSearchParams({ ...(type ? { type } : {}), ...(town ? { township: town } : {}), ...(claimFilter ? { claim: claimFilter } : {}), ...(overdue ? { overdue: 'true' } : {}) });
    const base = web.base(req, l.t('待办', 'Workqueue'));
    const csrf = base.csrf();
    const total = Object.values(page.totals).reduce((a, b) => a + b, 0);
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('待办', 'Workqueue')}</h1>
        <p className="caption">
          {countyWide(p) ? l.t('全县所有待办（管理员）', 'Every queue in the county (administrator)') : `${p.level === 'county' ? l.t('县级审批', 'County approval') : l.t('乡镇审核', 'Township review')}${l.colon}${(p.jurisdiction ?? []).some((c) => c === COUNTY.code) ? COUNTY.name : places.map((t) => t.name).join(l.t('、', ', ')) || (p.jurisdiction ?? []).join(', ')}`}
        </p>
        {held.length ? (
          <section aria-labelledby="held">
            <h2 id="held">{l.t(`我认领的（${held.length}）`, `My claimed cases (${held.length})`)}</h2>
            <p className="hint">{l.t('认领有效 30 分钟，续期后重新计时；放弃认领后其他人可以办理。', 'A claim lasts 30 minutes; renewing starts it again. Release a case to let others take it.')}</p>
            <table className="cases">
              <thead>
                <tr>
                  <th scope="col">{l.t('办件编号', 'Case number')}</th>
                  <th scope="col">{l.t('事项', 'Certificate')}</th>
                  <th scope="col">{l.t('认领剩余', 'Claim left')}</th>
                  <th scope="col">{l.t('操作', 'Action')}</th>
                </tr>
              </thead>
              <tbody>
                {held.map((it) => (
                  <tr>
                    <td className="case-number"><a href={`/officer/cases/${it.id}`} data-row-link="1">{it.number}</a></td>
                    <td>{typeName(it.type)}</td>
                    <td><LeaseLeft l={l} until={it.claim!.until} now={ctx.clock.now()} /></td>
                    <td className="actions">
                      <ClaimForm id={it.id} csrf={csrf} back="queue" label={l.t('续期', 'Renew')} hidden={`${it.number}`} />
                      <ReleaseForm id={it.id} csrf={csrf} l={l} number={it.number ?? ''} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ) : null}
        <h2>{l.t('申请列表', 'Applications')}</h2>
        <form method="get" action="/officer" className="filters">
          <SelectField name="type" label={l.t('事项', 'Certificate')} value={type} blank={l.t('全部事项', 'All certificates')} options={TYPE_CODES.map((c) => ({ value: c, label: `${typeName(c)}（${page.totals[c] ?? 0}）` }))} />
          {places.length > 1 ? <SelectField name="township" label={l.t('乡镇', 'Township')} value={town} blank={l.t('全部乡镇', 'All townships')} options={places.map((t) => ({ value: t.code, label: t.name }))} /> : null}
          <SelectField
            name="claim"
            label={l.t('状态', 'Status')}
            value={claimFilter}
            blank={l.t('全部', 'All')}
            options={[
              { value: 'unclaimed', label: l.t('待认领', 'Not claimed') },
              { value: 'claimed', label: l.t('已认领', 'Claimed') },
              ...(can(p, 'application:decide') ? [{ value: 'mine', label: l.t('我认领的', 'Claimed by me') }] : []),
            ]}
          />
          <SelectField name="overdue" label={l.t('期限', 'Deadline')} value={overdue ? 'true' : undefined} blank={l.t('全部', 'All')} options={[{ value: 'true', label: l.t('仅已超期', 'Overdue only') }]} />
          <Button secondary>{l.t('筛选', 'Filter')}</Button>
        </form>
        <p>{l.t(`共 ${total} 件`, `${total} in all`)}</p>
        {page.items.length === 0 ? (
          <p>{l.t('没有符合条件的待办。', 'Nothing waiting matches.')}</p>
        ) : (
          <table className="cases">
            <thead>
              <tr>
                <th scope="col">{l.t('办件编号', 'Case number')}</th>
                <th scope="col">{l.t('事项', 'Certificate')}</th>
                <th scope="col">{l.t('申请人', 'Applicant')}</th>
                <th scope="col">{l.t('承诺办结', 'Committed deadline')}</th>
                <th scope="col">{l.t('状态', 'Status')}</th>
                <th scope="col">{l.t('操作', 'Action')}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((it) => (
                <tr>
                  <td className="case-number"><a href={`/officer/cases/${it.id}`} data-row-link="1">{it.number}</a></td>
                  <td>{typeName(it.type)}{it.stage ? <span className="caption">{l.b(it.stage.name)}</span> : null}</td>
                  <td>{it.resident.name}<span className="caption">{placeName(it.division)}</span><span className="caption">{it.resident.idNumber}</span></td>
                  <td>
                    {day(it.committedDeadline)}
                    {it.overdue ? <strong className="tag tag-rejected">{l.t('已超期', 'Overdue')}</strong> : null}
                    {it.deadlineProvisional ? <span className="tag tag-provisional" title={l.t('节假日安排未公布，期限暂定', 'Holidays not yet published')}>{l.t('期限暂定', 'Provisional')}</span> : null}
                  </td>
                  <td>
                    <StatusTag l={l} status={it.status} />
                    {it.claim ? <span className="caption">{it.claim.mine ? l.t('我已认领', 'Claimed by me') : it.claim.officerName}{l.t('，至 ', ' until ')}{dateTime(it.claim.until)}</span> : null}
                  </td>
                  <td>
                    {can(p, 'application:decide') && (!it.claim || it.claim.mine) ? (
                      <ClaimForm id={it.id} csrf={csrf} label={it.claim?.mine ? l.t('续期', 'Renew') : l.t('认领', 'Claim')} hidden={it.number ?? ''} />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav className="paging" aria-label={l.t('翻页', 'Pages')}>
          {cursor ? <a href={`/officer${filters.size ? `?${filters.toString()}` : ''}`}>{l.t('回到第一页', 'First page')}</a> : null}
          {page.next ? <a href={`/officer?${new URLSearchParams([...filters, ['cursor', page.next]]).toString()}`} data-key="n" aria-keyshortcuts="n">{l.t('下一页', 'Next page')}</a> : null}
        </nav>
        <Shortcuts
          l={l}
          keys={[
            ['j', l.t('下一个办件', 'Next case')],
            ['k', l.t('上一个办件', 'Previous case')],
            ['Enter', l.t('打开选中的办件', 'Open the selected case')],
            ['/', l.t('筛选', 'Filters')],
            ['n', l.t('下一页', 'Next page')],
          ]}
        />
      </Page>,
    );
  });

  /** Claim (or renew) a case; from "my claimed cases" the officer stays on the queue. */
  const ClaimForm = ({ id, csrf, label, back, hidden, dataKey }: { id: string; csrf: string; label: string; back?: 'queue'; hidden: string; dataKey?: string }) => (
    <form method="post" action={`/officer/cases/${id}/claim`} className="inline">
      <CsrfField token={csrf} />
      {back ? <input type="hidden" name="back" value={back} /> : null}
      <button type="submit" className="button secondary" data-key={dataKey} aria-keyshortcuts={dataKey}>{label}{hidden ? <span className="visually-hidden"> {hidden}</span> : null}</button>
    </form>
  );
  const ReleaseForm = ({ id, csrf, l, number }: { id: string; csrf: string; l: Lang; number: string }) => (
    <form method="post" action={`/officer/cases/${id}/release`} className="inline">
      <CsrfField token={csrf} />
      <button type="submit" className="button secondary">{l.t('放弃认领', 'Release')}{number ? <span className="visually-hidden"> {number}</span> : null}</button>
    </form>
  );

  const caseId = (req: Request): string => {
    const id = String(req.params.id);
    if (!/^[0-9a-f]{24}$/.test(id)) throw notFound();
    return id;
  };

  r.post('/officer/cases/:id/claim', staff, web.csrf, async (req, res) => {
    const id = caseId(req);
    await claim(ctx, req.principal!, id);
    res.redirect(303, req.body.back === 'queue' ? '/officer' : `/officer/cases/${id}`);
  });

  r.post('/officer/cases/:id/release', staff, web.csrf, async (req, res) => {
    await release(ctx, req.principal!, caseId(req));
    res.redirect(303, '/officer');
  });

  /* The case: the officer's view of the API (ID numbers masked), the eligibility trace, documents, history. */
  const validateDecision = compile(decisionBody);
  interface CaseExtras {
    family: { flags: FamilyFlag[]; others: { number: string | null; type: string; status: string }[] };
    complaints: ReturnType<typeof complaintView>[];
    rating: ReturnType<typeof ratingView> | null;
    /** Each PDF's pages drawn as images by the service, by document id. */
    previews: Map<string, Preview | { ok: false; reason: 'pending' }>;
  }
  const caseExtras = async (req: Request, app: ApplicationDoc): Promise<CaseExtras> => {
    const p = req.principal!;
    const id = app._id.toString();
    const family = app.familyKey ? await familyOf(ctx, app.familyKey) : { applications: [] };
    let rating: CaseExtras['rating'] = null;
    try {
      rating = ratingView(ctx, await ratingOf(ctx, p, id), p);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'not_found') throw err;
    }
    return {
      family: { flags: await familyFlags(ctx, app, (a) => formOf(ctx, a)), others: family.applications.filter((a) => a.id !== id) },
      complaints: (await listForApplication(ctx, p, id)).map((c) => complaintView(ctx, c, p)),
      rating,
      previews: await pdfPreviews(ctx, app.documents),
    };
  };

  interface CaseState {
    errors?: FieldError[];
    values?: { reason?: string; common?: string; missing?: string[] };
    /** The ID numbers in full, after the logged action. */
    revealed?: { form: Record<string, unknown>; residentIdNumber: string };
  }
  const casePage = (req: Request, app: ApplicationDoc, extras: CaseExtras, state: CaseState = {}) => {
    const l = web.lang(req);
    const p = req.principal!;
    const { errors, values = {}, revealed } = state;
    const view = toView(ctx, app, p);
    const id = view.id;
    const spec = ctx.policy.type(app.type)!;
    const form = (revealed?.form ?? view.form ?? {}) as Record<string, unknown>;
    const now = ctx.clock.now();
    // The trace under the rules the case was filed under: the day of submission chooses the rule set.
    const trace = evaluateApplication(ctx.policy, app.type, formOf(ctx, app), app.submittedAt ?? now, l.code);
    const docName = (kind: string) => l.b(spec.documents.find((d) => d.kind === kind)?.name) || kind;
    const typeName = (code: string) => l.b(ctx.policy.type(code)?.names) || code;
    const shown = (name: string, v: unknown, options?: { value: string; label: { zh: string; en: string } }[]) => {
      if (v === true) return l.t('是', 'Yes');
      if (v === false) return l.t('否', 'No');
      if (name.endsWith('divisionCode') && typeof v === 'string') return `${placeName(v)}${l.paren(v)}`;
      const o = options?.find((x) => x.value === v);
      return o ? l.b(o.label) : String(v);
    };
    const live = view.status === 'in_review' && view.claim && 'officerId' in view.claim && new Date(view.claim.until) > now;
    const mine = live && view.claim && 'officerId' in view.claim && view.claim.officerId === p.id;
    const claimable = can(p, 'application:decide') && (view.status === 'pending' || (view.status === 'in_review' && !live));
    const base = web.base(req, `${view.number ?? ''} ${l.b(spec.names)}`, errors);
    const csrf = base.csrf();
    return (
      <Page {...base}>
        <BackLink href="/officer" l={l} />
        <p className="caption">{l.b(spec.names)}{view.stage ? ` · ${l.b(view.stage.name)}` : ''}</p>
        <h1>{view.number}</h1>
        <SummaryList
          rows={[
            { key: l.t('状态', 'Status'), value: <StatusTag l={l} status={view.status} /> },
            { key: l.t('申请人', 'Applicant'), value: `${view.resident.name}${l.paren(revealed?.residentIdNumber ?? view.resident.idNumber)}` },
            { key: l.t('居住地', 'Residence'), value: view.division ? placeName(view.division) : '—' },
            { key: l.t('提交方式', 'Filed'), value: `${view.channel === 'terminal' ? l.t('村级自助终端', 'Village kiosk') : l.t('网上申请', 'Online')} · ${dateTime(view.submittedAt)}` },
            {
              key: l.t('承诺办结', 'Committed deadline'),
              value: (
                <Fragment>
                  {day(view.stage?.committedDeadline)}
                  {view.stage?.committedDeadline && view.stage.committedDeadline < chinaDate(now) && (view.status === 'pending' || view.status === 'in_review') ? <strong className="tag tag-rejected">{l.t('已超期', 'Overdue')}</strong> : null}
                  {view.deadlineProvisional ? <span className="tag tag-provisional">{l.t('期限暂定', 'Provisional')}</span> : null}
                </Fragment>
              ),
            },
            { key: l.t('法定时限', 'Statutory deadline'), value: day(view.stage?.statutoryDeadline) },
            {
              key: l.t('认领', 'Claim'),
              value: live && view.claim && 'officerName' in view.claim ? (
                <Fragment>
                  {mine ? l.t('我已认领', 'Claimed by me') : view.claim.officerName}
                  {l.t('，', ', ')}
                  <LeaseLeft l={l} until={view.claim.until} now={now} />
                </Fragment>
              ) : (
                l.t('未认领', 'Not claimed')
              ),
            },
            ...(view.certificateSerial ? [{ key: l.t('证件编号', 'Certificate'), value: <a href={`/officer/certificates/${view.certificateSerial}/print`} data-key="p" aria-keyshortcuts="p">{l.t(`打印证件 ${view.certificateSerial}`, `Print certificate ${view.certificateSerial}`)}</a> }] : []),
          ]}
        />
        {can(p, 'application:decide') && (claimable || mine) ? (
          <p className="actions">
            <ClaimForm id={id} csrf={csrf} label={mine ? l.t('续期认领', 'Renew the claim') : l.t('认领办理', 'Claim this case')} hidden="" dataKey="c" />
            {mine ? <ReleaseForm id={id} csrf={csrf} l={l} number="" /> : null}
          </p>
        ) : null}

        <h2>{l.t('申请内容', 'The application')}</h2>
        {revealed ? (
          <p className="notice">{l.t('已显示完整身份证号码；本次查看已记入查阅记录。', 'ID numbers are shown in full; this view is in the access log.')}</p>
        ) : (
          <form method="post" action={`/officer/cases/${id}/id-numbers`}>
            <CsrfField token={csrf} />
            <p className="hint" id="reveal-hint">{l.t('身份证号码已部分隐藏。确需核对时可查看完整号码，查看人和时间记入查阅记录。', 'ID numbers are partly hidden. When you need to check one, show them in full: who and when is written to the access log.')}</p>
            <button type="submit" className="button secondary" aria-describedby="reveal-hint">{l.t('查看完整身份证号码', 'Show full ID numbers')}</button>
          </form>
        )}
        {(SECTIONS[app.type] ?? []).map((s) => (
          <Fragment>
            <h3>{l.b(s.title)}</h3>
            {s.kind === 'children' ? (
              <SummaryList
                rows={((form.children as Record<string, unknown>[] | undefined) ?? []).map((c, i) => ({
                  key: l.t(`第 ${i + 1} 个子女`, `Child ${i + 1}`),
                  value: `${c.sex === 'female' ? l.t('女', 'Female') : l.t('男', 'Male')}${l.t('，', ', ')}${String(c.birthDate ?? '')}${c.alive === false ? l.t('，已故', ', died') : ''}`,
                }))}
              />
            ) : s.kind === 'ground' ? (
              <SummaryList rows={[{ key: l.b(s.title), value: String(form.ground ?? '') }]} />
            ) : (
              <SummaryList
                rows={s.fields.filter((f) => getPath(form, f.name) !== undefined).map((f) => ({ key: l.b(f.label), value: shown(f.name, getPath(form, f.name), f.options) }))}
              />
            )}
          </Fragment>
        ))}

        <h2>{l.t('条件审查', 'Eligibility')}</h2>
        <p className="caption">{l.b(trace.regime.name)}{l.paren(`${l.t('规则版本', 'rule set')} ${trace.regime.version}${l.t('，按提交日 ', ', as of the submission day ')}${trace.day}`)}</p>
        {trace.errors.length ? (
          <ul className="grounds">{trace.errors.map((e) => <li className="unmet">✗ {e.path ? `${e.path}${l.colon}` : ''}{e.message}</li>)}</ul>
        ) : null}
        <table className="cases trace">
          <thead>
            <tr>
              <th scope="col">{l.t('条件', 'Ground')}</th>
              <th scope="col">{l.t('结果', 'Result')}</th>
              <th scope="col">{l.t('规则与依据', 'Rule and citation')}</th>
            </tr>
          </thead>
          <tbody>
            {trace.grounds.map((g) => (
              <tr className={g.met ? 'met' : 'unmet'}>
                <td>{g.kind === 'requirement' ? l.t('基本条件', 'Requirement') : l.t('情形', 'Ground')}{l.colon}{g.title}</td>
                <td><strong className={g.met ? 'tag tag-approved' : 'tag tag-rejected'}>{g.met ? `✓ ${l.t('符合', 'met')}` : `✗ ${l.t('不符合', 'not met')}`}</strong><span className="caption">{g.message}</span></td>
                <td><code>{g.id}</code><span className="caption">{g.citation}</span></td>
              </tr>
            ))}
          </tbody>
        </table>

        <h2>{l.t('材料', 'Documents')}</h2>
        {view.documents.length === 0 ? <p>{l.t('无', 'None')}</p> : (
          <ul className="documents">
            {view.documents.map((d) => (
              <li className="document">
                <p className="document-name">{docName(d.kind)}</p>
                <p className="file">
                  <a href={`/officer/cases/${id}/documents/${d.id}`}>{d.fileName}</a>
                  <span className="caption">{d.mime === 'application/pdf' ? 'PDF' : d.mime.replace('image/', '').toUpperCase()} · {Math.max(1, Math.round(d.size / 1024))} KB · {dateTime(d.uploadedAt)}</span>
                </p>
                {/* An image is read in place; a PDF's first pages as images the service drew, in the same
                    sandboxed frames (browsers run no PDF viewer inside a sandboxed document, and this way
                    the officer's browser never parses the uploaded PDF). */}
                {d.mime.startsWith('image/') ? (
                  <iframe className="document-frame" src={`/officer/cases/${id}/documents/${d.id}/view`} title={`${docName(d.kind)}${l.colon}${d.fileName}`} sandbox="" referrerpolicy="no-referrer" />
                ) : (
                  <PdfPages l={l} href={`/officer/cases/${id}/documents/${d.id}`} title={`${docName(d.kind)}${l.colon}${d.fileName}`} preview={extras.previews.get(d.id)} />
                )}
              </li>
            ))}
          </ul>
        )}

        <h2>{l.t('家庭档案', 'Family record')}</h2>
        {extras.family.flags.length ? (
          <ul className="flags">{extras.family.flags.map((f) => <li><strong className="tag tag-rejected">{l.t('需核实', 'Check')}</strong> {l.b(f.message)}</li>)}</ul>
        ) : (
          <p>{l.t('同一夫妻的各次申请申报一致。', "The couple's cases declare the same.")}</p>
        )}
        {extras.family.others.length ? (
          <SummaryList rows={extras.family.others.map((o) => ({ key: o.number ?? l.t('（草稿）', '(draft)'), value: `${typeName(o.type)} · ${statusName(l, o.status)}` }))} />
        ) : (
          <p>{l.t('同一夫妻没有其他申请。', 'The couple has no other cases.')}</p>
        )}

        <h2>{l.t('投诉与评价', 'Complaints and rating')}</h2>
        {extras.complaints.length === 0 && !extras.rating ? <p>{l.t('暂无投诉和评价。', 'No complaint or rating yet.')}</p> : null}
        {extras.complaints.map((c) => (
          <div className="panel">
            <p><strong>{l.t('投诉', 'Complaint')}</strong> · {dateTime(c.createdAt)} · {c.status === 'answered' ? l.t('已答复', 'answered') : `${l.t('答复期限', 'answer by')} ${c.responseDeadline}`}{c.overdue ? <strong className="tag tag-rejected">{l.t('已超期', 'Overdue')}</strong> : null}</p>
            <p>{c.text}</p>
            {c.answer ? <p>{l.t('答复', 'Answer')}{l.colon}{c.answer.text}</p> : null}
          </div>
        ))}
        {extras.rating ? (
          <div className="panel">
            <p><strong>{l.t('评价', 'Rating')}</strong>{l.colon}{l.b(extras.rating.level)}{l.paren(`${extras.rating.score}/5`)} · {dateTime(extras.rating.createdAt)}</p>
            {extras.rating.comment ? <p>{extras.rating.comment}</p> : null}
            {extras.rating.followUp ? <p>{l.t('差评回访', 'Follow-up')}{l.colon}{extras.rating.followUp.status === 'done' ? extras.rating.followUp.outcome : `${l.t('期限', 'due')} ${extras.rating.followUp.deadline}`}</p> : null}
          </div>
        ) : null}

        {mine ? decisionForms(req, app, csrf, errors, values) : null}

        <h2>{l.t('办理记录', 'History')}</h2>
        <ol className="timeline">
          {app.history.map((e) => (
            <li>
              <time>{dateTime(e.at)}</time>
              <p>{e.actor.name || e.actor.role} · {actionName(l, e.action)} · {statusText(l, e.from)} → {statusText(l, e.to)}</p>
              {e.reason ? <p>{e.reason}</p> : null}
              {e.missing?.length ? <p>{l.t('需补正', 'To add')}{l.colon}{e.missing.map(docName).join(l.t('、', ', '))}</p> : null}
            </li>
          ))}
        </ol>
        <Shortcuts
          l={l}
          keys={[
            ['c', l.t('认领或续期', 'Claim or renew')],
            ['a', l.t('批准（先确认）', 'Approve (asks to confirm)')],
            ['r', l.t('退回补正：选择材料', 'Return: pick the documents')],
            ['x', l.t('不予许可：选择理由', 'Reject: pick the reason')],
            ['p', l.t('打印证件', 'Print the certificate')],
            ['q', l.t('回到待办', 'Back to the workqueue')],
          ]}
        />
        <a href="/officer" data-key="q" hidden>{l.t('回到待办', 'Back to the workqueue')}</a>
      </Page>
    );
  };
  const statusText = (l: Lang, s: string | null) => (s ? l.b((STATUS_LABELS as Record<string, { zh: string; en: string }>)[s]) || s : '—');

  /** Two forms on one page carry a reason: each its own id, the API's one field name. */
  const Reason = ({ id, label, hint, value }: { id: string; label: string; hint?: string; value?: string }) => (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint ? <p className="hint" id={`${id}-hint`}>{hint}</p> : null}
      <textarea id={id} name="reason" rows={3} maxlength={1000} aria-describedby={hint ? `${id}-hint` : undefined}>{value ?? ''}</textarea>
    </div>
  );

  const decisionForms = (req: Request, app: ApplicationDoc, csrf: string, errors?: FieldError[], values: CaseState['values'] = {}) => {
    const l = web.lang(req);
    const id = app._id.toString();
    const spec = ctx.policy.type(app.type)!;
    const last = app.stageIndex === app.stages.length - 1;
    return (
      <section aria-labelledby="decide" className="decide">
        <h2 id="decide">{l.t('作出决定', 'Decide')}</h2>
        <form method="post" action={`/officer/cases/${id}/decide`}>
          <CsrfField token={csrf} />
          <input type="hidden" name="action" value="approve" />
          <button type="submit" className="button" data-key="a" aria-keyshortcuts="a">{last ? l.t('批准并发证', 'Approve and issue') : l.t('审核通过，报县级审批', 'Approve: pass to the county')}</button>
        </form>
        <form method="post" action={`/officer/cases/${id}/decide`} id="return">
          <CsrfField token={csrf} />
          <input type="hidden" name="action" value="return" />
          <h3>{l.t('退回补正', 'Return for supplement')}</h3>
          <fieldset className="field" id={fieldId('missing')}>
            <legend>{l.t('需要补正的材料（一次性告知）', 'Documents to add or replace (all at once)')}</legend>
            {spec.documents.map((d, i) => (
              <div className="field checkbox">
                <input type="checkbox" id={`missing-${d.kind}`} name="missing" value={d.kind} checked={values.missing?.includes(d.kind) ?? false} data-key={i === 0 ? 'r' : undefined} aria-keyshortcuts={i === 0 ? 'r' : undefined} />
                <label htmlFor={`missing-${d.kind}`}>{l.b(d.name)}</label>
              </div>
            ))}
          </fieldset>
          <Reason id="return-reason" label={l.t('说明（选填）', 'Note (optional)')} hint={l.t('不填时，通知书列出所选材料。', 'Without a note the notice lists the documents chosen.')} value={values.missing ? values.reason : undefined} />
          <Button secondary>{l.t('退回补正', 'Return')}</Button>
        </form>
        <form method="post" action={`/officer/cases/${id}/decide`} id="reject">
          <CsrfField token={csrf} />
          <input type="hidden" name="action" value="reject" />
          <h3>{l.t('不予许可', 'Reject')}</h3>
          <div className="field">
            <label htmlFor={fieldId('common')}>{l.t('常见理由', 'Common reason')}</label>
            <select id={fieldId('common')} name="common" data-key="x" aria-keyshortcuts="x">
              <option value="">{l.t('（不选，自行填写）', '(none: write the reason)')}</option>
              {REJECT_REASONS.map((r) => <option value={r.id} selected={values.common === r.id}>{l.b(r)}</option>)}
            </select>
          </div>
          <Reason id="reject-reason" label={l.t('理由或补充说明', 'Reason, or particulars')} hint={l.t('选了常见理由时，这里的说明附在其后。', 'With a common reason, this text is added after it.')} value={values.missing ? undefined : values.reason} />
          <Button secondary>{l.t('不予许可', 'Reject')}</Button>
        </form>
      </section>
    );
  };

  const loadCase = async (req: Request) => {
    const p = req.principal!;
    const app = await loadVisible(ctx, p, caseId(req));
    return { app, extras: await caseExtras(req, app) };
  };

  r.get('/officer/cases/:id', staff, async (req, res) => {
    const p = req.principal!;
    const { app, extras } = await loadCase(req);
    await recordAccess(ctx, req, p, app._id.toString(), 'view');
    web.send(res, casePage(req, app, extras));
  });

  /** The ID numbers in full: an explicit post, written to the access log by the use case. */
  r.post('/officer/cases/:id/id-numbers', staff, web.csrf, async (req, res) => {
    const revealed = await revealIdNumbers(ctx, req, req.principal!, caseId(req));
    web.send(res, casePage(req, revealed.app, await caseExtras(req, revealed.app), { revealed }));
  });

  /** Documents through the same use case and audit as the API's download: an attachment, sandboxed, never run. */
  r.get('/officer/cases/:id/documents/:docId', staff, (req, res) => sendDocument(ctx, req, res, req.principal!));
  /** The same, inline for the case page's sandboxed frame (images read in place). */
  r.get('/officer/cases/:id/documents/:docId/view', staff, (req, res) => sendDocument(ctx, req, res, req.principal!, { inline: true }));
  /** A PDF's page drawn as a PNG image by the service, inline for the same kind of frame. */
  r.get('/officer/cases/:id/documents/:docId/pages/:page', staff, (req, res) => sendPreviewPage(ctx, req, res, req.principal!));

  /** The certificate of a case the officer may see, to print (the same printable page the holder gets). */
  r.get('/officer/certificates/:serial/print', staff, async (req, res) => {
    const cert = await getCertificate(ctx, req.principal!, String(req.params.serial));
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(await printableCertificate(ctx, cert));
  });

  /**
   * A decision: the API's body rules, then a confirmation page for the final ones (approve, reject),
   * then the review service's `decide`. Return is not final (the resident supplies and it comes back).
   */
  r.post('/officer/cases/:id/decide', staff, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const p = req.principal!;
    const id = caseId(req);
    const action = String(req.body.action ?? '');
    const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
    const note = text(req.body.reason);
    const common = text(req.body.common);
    const rawMissing: unknown = req.body.missing;
    const missing = Array.isArray(rawMissing) ? rawMissing.map(String) : typeof rawMissing === 'string' ? [rawMissing] : undefined;
    const app = await loadVisible(ctx, p, id);
    const spec = ctx.policy.type(app.type)!;
    // The page's conveniences, put into the API's one body: a chosen common reason, and a return
    // without a note says which documents (in the notice's language).
    const reason =
      action === 'reject' ? rejectReason(common, note)
      : action === 'return' && !note && missing?.length ? `请补正以下材料：${missing.map((k) => spec.documents.find((d) => d.kind === k)?.name.zh ?? k).join('、')}`
      : note;
    const input = { action, ...(reason ? { reason } : {}), ...(action === 'return' && missing ? { missing } : {}) };
    const values = { reason: note, common, missing: action === 'return' ? missing ?? [] : undefined };
    if (action === 'reject' && common && !REJECT_REASONS.some((r) => r.id === common)) {
      return web.send(res, casePage(req, app, await caseExtras(req, app), { errors: [{ field: 'common', message: l.t('请从列表中选择理由', 'Choose a reason from the list') }], values }), 400);
    }
    if (!validateDecision(input)) {
      const labels: Record<string, string> = { reason: action === 'reject' ? l.t('不予许可的理由', 'The reason for rejection') : l.t('说明', 'The note'), missing: l.t('需要补正的材料', 'Documents to add') };
      const errors = web
        .fieldErrors(req, toFieldProblems(validateDecision.errors), (f) => labels[f.split('.')[0]!])
        .map((e) => ({ ...e, field: e.field.startsWith('missing') ? 'missing' : e.field === 'reason' ? (action === 'reject' ? 'common' : 'missing') : e.field === '' ? '' : e.field }))
        .map((e) => (action === 'reject' && e.field === 'common' ? { ...e, message: l.t('请选择或填写不予许可的理由', 'Choose or write the reason for rejection') } : e))
        .map((e) => (action === 'return' && e.field === 'missing' ? { ...e, message: l.t('请勾选需要补正的材料', 'Tick the documents to add or replace') } : e));
      return web.send(res, casePage(req, app, await caseExtras(req, app), { errors: errors.length ? errors : [{ field: '', message: l.t('请补全决定内容', 'Complete the decision') }], values }), 400);
    }
    if (action !== 'return' && req.body.confirm !== 'yes') {
      const base = web.base(req, l.t('确认决定', 'Confirm the decision'));
      const last = app.stageIndex === app.stages.length - 1;
      return web.send(
        res,
        <Page {...base}>
          <BackLink href={`/officer/cases/${id}`} l={l} />
          <h1>{action === 'reject' ? l.t('确认不予许可？', 'Reject this application?') : last ? l.t('确认批准并发证？', 'Approve and issue the certificate?') : l.t('确认审核通过并报县级审批？', 'Approve and pass to the county?')}</h1>
          <SummaryList
            rows={[
              { key: l.t('办件编号', 'Case number'), value: app.number ?? '' },
              { key: l.t('事项', 'Certificate'), value: `${l.b(spec.names)}${app.stages[app.stageIndex] ? ` · ${l.b(app.stages[app.stageIndex]!.name)}` : ''}` },
              ...(reason ? [{ key: l.t('理由', 'Reason'), value: reason }] : []),
            ]}
          />
          <p>{action === 'reject' ? l.t('确认后将出具不予行政许可决定书，申请人会收到通知。', 'Confirming issues the rejection notice; the applicant is told.') : last ? l.t('确认后将签发证件，申请人会收到通知。', 'Confirming issues the certificate; the applicant is told.') : l.t('确认后转入县级审批待办。', 'Confirming passes the case to the county queue.')}</p>
          <form method="post" action={`/officer/cases/${id}/decide`}>
            <CsrfField token={base.csrf()} />
            <input type="hidden" name="action" value={action} />
            {note ? <input type="hidden" name="reason" value={note} /> : null}
            {common ? <input type="hidden" name="common" value={common} /> : null}
            <input type="hidden" name="confirm" value="yes" />
            <Button>{l.t('确认', 'Confirm')}</Button>
          </form>
          <p><a href={`/officer/cases/${id}`}>{l.t('取消，返回办件', 'Cancel and go back to the case')}</a></p>
        </Page>,
      );
    }
    await decide(ctx, p, id, input as DecisionInput);
    res.redirect(303, `/officer/cases/${id}`);
  });

  return r;
}
