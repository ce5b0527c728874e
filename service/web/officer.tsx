import express, { type Request, type RequestHandler, type Router } from 'express';
import { checkCredentials } from '../accounts/accounts.service';
import type { ApplicationDoc } from '../applications/applications.model';
import { formOf, loadVisible, toView } from '../applications/applications.service';
import { recordAccess } from '../audit/audit.service';
import { sendDocument } from '../documents/documents.routes';
import { evaluateApplication } from '../eligibility/eligibility.service';
import { compile, toFieldProblems } from '../lib/validation';
import { claim, decide, queue, type DecisionInput } from '../review/review.service';
import { decisionBody } from '../review/review.routes';
import { getPath, SECTIONS } from './forms';
import { STATUS_LABELS } from '../applications/workflow';
import { TYPE_CODES } from '../catalogue/catalogue';
import { countyWide } from '../lib/access';
import { can, roleHolds } from '../lib/auth';
import { AppError, notFound, PROBLEMS } from '../lib/errors';
import { limiter } from '../lib/ratelimit';
import { chinaDate } from '../lib/workdays';
import { computeStats, statsCsv } from '../stats/stats.service';
import { Fragment, h } from './jsx';
import { startSession } from './session';
import { BackLink, Button, CsrfField, Page, SelectField, StatusTag, SummaryList, TextField, day, dateTime, type FieldError } from './ui';
import type { Web } from './web';

const FIFTEEN_MINUTES = 15 * 60 * 1000;
const PAGE_SIZE = 20;

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

  /**
   * Staff pages exist only for staff: a resident or a kiosk gets the same 404 as for an unknown
   * address (nothing tells them the workbench is there); nobody signed in is sent to sign in.
   */
  const staff: RequestHandler = (req, res, next) => {
    const s = req.page?.session;
    if (!s) return res.redirect(303, '/officer/sign-in');
    if (s.doc.kind !== 'staff') throw new AppError('not_found');
    req.principal = s.principal;
    next();
  };

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
    const type = typeof req.query.type === 'string' && (TYPE_CODES as readonly string[]).includes(req.query.type) ? req.query.type : undefined;
    const overdue = req.query.overdue === 'true';
    const mine = req.query.mine === 'true';
    const cursor = typeof req.query.cursor === 'string' && req.query.cursor.length <= 200 ? req.query.cursor : undefined;
    const page = await queue(ctx, p, { type, overdue, mine, limit: PAGE_SIZE, cursor });
    const typeName = (code: string) => l.b(ctx.policy.type(code)?.names) || code;
    const filters = new URLSearchParams({ ...(type ? { type } : {}), ...(overdue ? { overdue: 'true' } : {}), ...(mine ? { mine: 'true' } : {}) });
    const base = web.base(req, l.t('待办', 'Workqueue'));
    const total = Object.values(page.totals).reduce((a, b) => a + b, 0);
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('待办', 'Workqueue')}</h1>
        <p className="caption">
          {countyWide(p) ? l.t('全县所有待办（管理员）', 'Every queue in the county (administrator)') : `${p.level === 'county' ? l.t('县级审批', 'County approval') : l.t('乡镇审核', 'Township review')}${l.colon}${(p.jurisdiction ?? []).join(l.t('、', ', '))}`}
        </p>
        <form method="get" action="/officer" className="filters">
          <SelectField name="type" label={l.t('事项', 'Certificate')} value={type} blank={l.t('全部事项', 'All certificates')} options={TYPE_CODES.map((c) => ({ value: c, label: `${typeName(c)}（${page.totals[c] ?? 0}）` }))} />
          <SelectField
            name="overdue"
            label={l.t('期限', 'Deadline')}
            value={overdue ? 'true' : undefined}
            blank={l.t('全部', 'All')}
            options={[{ value: 'true', label: l.t('仅已超期', 'Overdue only') }]}
          />
          <SelectField name="mine" label={l.t('认领', 'Claims')} value={mine ? 'true' : undefined} blank={l.t('全部', 'All')} options={[{ value: 'true', label: l.t('我认领的', 'Claimed by me') }]} />
          <Button secondary>{l.t('筛选', 'Filter')}</Button>
        </form>
        <p>{l.t(`共 ${total} 件`, `${total} in all`)}</p>
        {page.items.length === 0 ? (
          <p>{l.t('没有待办的申请。', 'Nothing is waiting.')}</p>
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
                  <td className="case-number">{it.number}</td>
                  <td>{typeName(it.type)}{it.stage ? <span className="caption">{l.b(it.stage.name)}</span> : null}</td>
                  <td>{it.resident.name}<span className="caption">{it.resident.idNumber}</span></td>
                  <td>
                    {day(it.committedDeadline)}
                    {it.overdue ? <strong className="tag tag-rejected">{l.t('已超期', 'Overdue')}</strong> : null}
                    {it.deadlineProvisional ? <span className="caption">{l.t('期限暂定（节假日安排未公布）', 'Provisional (holidays not yet published)')}</span> : null}
                  </td>
                  <td>
                    <StatusTag l={l} status={it.status} />
                    {it.claim ? <span className="caption">{it.claim.mine ? l.t('我已认领', 'Claimed by me') : it.claim.officerName}{l.t('，至 ', ' until ')}{dateTime(it.claim.until)}</span> : null}
                  </td>
                  <td>
                    {can(p, 'application:decide') && (!it.claim || it.claim.mine) ? (
                      <form method="post" action={`/officer/cases/${it.id}/claim`} className="inline">
                        <CsrfField token={base.csrf()} />
                        <Button secondary>{it.claim?.mine ? l.t('续期', 'Renew') : l.t('认领', 'Claim')}</Button>
                      </form>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.next ? <p><a href={`/officer?${new URLSearchParams([...filters, ['cursor', page.next]]).toString()}`}>{l.t('下一页', 'Next page')}</a></p> : null}
        {cursor ? <p><a href={`/officer${filters.size ? `?${filters.toString()}` : ''}`}>{l.t('回到第一页', 'First page')}</a></p> : null}
      </Page>,
    );
  });

  r.post('/officer/cases/:id/claim', staff, web.csrf, async (req, res) => {
    const id = String(req.params.id);
    if (!/^[0-9a-f]{24}$/.test(id)) throw notFound();
    await claim(ctx, req.principal!, id);
    res.redirect(303, `/officer/cases/${id}`);
  });

  /* The case: the officer's view of the API (ID numbers masked), the eligibility trace, documents, history. */
  const validateDecision = compile(decisionBody);
  const casePage = (req: Request, app: ApplicationDoc, errors?: FieldError[], values: { reason?: string; missing?: string[] } = {}) => {
    const l = web.lang(req);
    const p = req.principal!;
    const view = toView(ctx, app, p);
    const id = view.id;
    const spec = ctx.policy.type(app.type)!;
    const form = (view.form ?? {}) as Record<string, unknown>;
    // The trace under the rules the case was filed under: the day of submission chooses the rule set.
    const trace = evaluateApplication(ctx.policy, app.type, formOf(ctx, app), app.submittedAt ?? ctx.clock.now(), l.code);
    const docName = (kind: string) => l.b(spec.documents.find((d) => d.kind === kind)?.name) || kind;
    const shown = (v: unknown, options?: { value: string; label: { zh: string; en: string } }[]) => {
      if (v === true) return l.t('是', 'Yes');
      if (v === false) return l.t('否', 'No');
      const o = options?.find((x) => x.value === v);
      return o ? l.b(o.label) : String(v);
    };
    const mine = view.status === 'in_review' && view.claim && 'officerId' in view.claim && view.claim.officerId === p.id && new Date(view.claim.until) > ctx.clock.now();
    const base = web.base(req, `${view.number ?? ''} ${l.b(spec.names)}`, errors);
    return (
      <Page {...base}>
        <BackLink href="/officer" l={l} />
        <p className="caption">{l.b(spec.names)}{view.stage ? ` · ${l.b(view.stage.name)}` : ''}</p>
        <h1>{view.number}</h1>
        <SummaryList
          rows={[
            { key: l.t('状态', 'Status'), value: <StatusTag l={l} status={view.status} /> },
            { key: l.t('申请人', 'Applicant'), value: `${view.resident.name}${l.paren(view.resident.idNumber)}` },
            { key: l.t('承诺办结', 'Committed deadline'), value: `${day(view.stage?.committedDeadline)}${view.deadlineProvisional ? l.paren(l.t('暂定', 'provisional')) : ''}` },
            { key: l.t('法定时限', 'Statutory deadline'), value: day(view.stage?.statutoryDeadline) },
            { key: l.t('认领', 'Claim'), value: view.claim && 'officerName' in view.claim ? `${view.claim.officerName}${l.t('，至 ', ' until ')}${dateTime(view.claim.until)}` : l.t('未认领', 'Not claimed') },
          ]}
        />
        {(SECTIONS[app.type] ?? []).map((s) => (
          <Fragment>
            <h2>{l.b(s.title)}</h2>
            {s.kind === 'children' ? (
              <SummaryList
                rows={((form.children as Record<string, unknown>[] | undefined) ?? []).map((c, i) => ({
                  key: l.t(`第 ${i + 1} 个子女`, `Child ${i + 1}`),
                  value: `${c.sex === 'female' ? l.t('女', 'Female') : l.t('男', 'Male')}, ${String(c.birthDate ?? '')}${c.alive === false ? l.t('，已故', ', died') : ''}`,
                }))}
              />
            ) : s.kind === 'ground' ? (
              <SummaryList rows={[{ key: l.b(s.title), value: String(form.ground ?? '') }]} />
            ) : (
              <SummaryList rows={s.fields.filter((f) => getPath(form, f.name) !== undefined).map((f) => ({ key: l.b(f.label), value: shown(getPath(form, f.name), f.options) }))} />
            )}
          </Fragment>
        ))}
        <h2>{l.t('条件审查', 'Eligibility')}</h2>
        <p className="caption">{l.b(trace.regime.name)}{l.paren(`${l.t('规则版本', 'rule set')} ${trace.regime.version}`)}</p>
        <ul className="grounds">
          {trace.grounds.map((g) => (
            <li className={g.met ? 'met' : 'unmet'}>{g.met ? '✓ ' : '✗ '}{g.title}{l.paren(`${g.id} · ${g.citation}`)}{l.colon}{g.message}</li>
          ))}
        </ul>
        <h2>{l.t('材料', 'Documents')}</h2>
        {view.documents.length === 0 ? <p>{l.t('无', 'None')}</p> : (
          <SummaryList rows={view.documents.map((d) => ({ key: docName(d.kind), value: <a href={`/officer/cases/${id}/documents/${d.id}`}>{d.fileName}</a> }))} />
        )}
        {mine ? decisionForms(req, app, base.csrf(), errors, values) : null}
        <h2>{l.t('办理记录', 'History')}</h2>
        <ol className="timeline">
          {app.history.map((e) => (
            <li>
              <time>{dateTime(e.at)}</time>
              <p>{e.actor.name || e.actor.role} · {e.action} · {statusText(l, e.from)} → {statusText(l, e.to)}</p>
              {e.reason ? <p>{e.reason}</p> : null}
              {e.missing?.length ? <p>{l.t('需补正', 'To add')}{l.colon}{e.missing.map(docName).join(l.t('、', ', '))}</p> : null}
            </li>
          ))}
        </ol>
      </Page>
    );
  };
  const statusText = (l: ReturnType<typeof web.lang>, s: string | null) => (s ? l.b((STATUS_LABELS as Record<string, { zh: string; en: string }>)[s]) || s : '—');

  /** Two forms on one page carry a reason: each its own id, the API's one field name. */
  const Reason = ({ id, label, value }: { id: string; label: string; value?: string }) => (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} name="reason" rows={4} maxlength={1000}>{value ?? ''}</textarea>
    </div>
  );

  const decisionForms = (req: Request, app: ApplicationDoc, csrf: string, errors?: FieldError[], values: { reason?: string; missing?: string[] } = {}) => {
    const l = web.lang(req);
    const id = app._id.toString();
    const spec = ctx.policy.type(app.type)!;
    const last = app.stageIndex === app.stages.length - 1;
    return (
      <section aria-labelledby="decide">
        <h2 id="decide">{l.t('作出决定', 'Decide')}</h2>
        <form method="post" action={`/officer/cases/${id}/decide`}>
          <CsrfField token={csrf} />
          <input type="hidden" name="action" value="approve" />
          <Button>{last ? l.t('批准并发证', 'Approve and issue') : l.t('审核通过，报县级审批', 'Approve: pass to the county')}</Button>
        </form>
        <form method="post" action={`/officer/cases/${id}/decide`}>
          <CsrfField token={csrf} />
          <input type="hidden" name="action" value="return" />
          <h3>{l.t('退回补正', 'Return for supplement')}</h3>
          <fieldset className="field">
            <legend>{l.t('需要补正的材料（一次性告知）', 'Documents to add or replace (all at once)')}</legend>
            {spec.documents.map((d) => (
              <div className="field checkbox">
                <input type="checkbox" id={`missing-${d.kind}`} name="missing" value={d.kind} checked={values.missing?.includes(d.kind) ?? false} />
                <label htmlFor={`missing-${d.kind}`}>{l.b(d.name)}</label>
              </div>
            ))}
          </fieldset>
          <Reason id="return-reason" label={l.t('说明（需要补正什么）', 'Note: what to add or fix')} value={values.reason} />
          <Button secondary>{l.t('退回补正', 'Return')}</Button>
        </form>
        <form method="post" action={`/officer/cases/${id}/decide`}>
          <CsrfField token={csrf} />
          <input type="hidden" name="action" value="reject" />
          <h3>{l.t('不予许可', 'Reject')}</h3>
          <Reason id="reject-reason" label={l.t('不予许可的理由', 'Reason for rejection')} />
          <Button secondary>{l.t('不予许可', 'Reject')}</Button>
        </form>
      </section>
    );
  };

  r.get('/officer/cases/:id', staff, async (req, res) => {
    const p = req.principal!;
    const app = await loadVisible(ctx, p, String(req.params.id));
    await recordAccess(ctx, req, p, app._id.toString(), 'view');
    web.send(res, casePage(req, app));
  });

  /** Documents through the same use case and audit as the API's download: an attachment, sandboxed, never run. */
  r.get('/officer/cases/:id/documents/:docId', staff, (req, res) => sendDocument(ctx, req, res, req.principal!));

  /**
   * A decision: the API's body rules, then a confirmation page for the final ones (approve, reject),
   * then the review service's `decide`. Return is not final (the resident supplies and it comes back).
   */
  r.post('/officer/cases/:id/decide', staff, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const p = req.principal!;
    const id = String(req.params.id);
    const action = String(req.body.action ?? '');
    const reason = typeof req.body.reason === 'string' && req.body.reason.trim() ? req.body.reason.trim() : undefined;
    const rawMissing: unknown = req.body.missing;
    const missing = Array.isArray(rawMissing) ? rawMissing.map(String) : typeof rawMissing === 'string' ? [rawMissing] : undefined;
    const input = { action, ...(reason ? { reason } : {}), ...(action === 'return' && missing ? { missing } : {}) };
    const app = await loadVisible(ctx, p, id);
    if (!validateDecision(input)) {
      const labels: Record<string, string> = { reason: l.t('理由', 'Reason'), missing: l.t('需要补正的材料', 'Documents to add') };
      const errors = web.fieldErrors(req, toFieldProblems(validateDecision.errors), (f) => labels[f.split('.')[0]!]).map((e) => ({ ...e, field: e.field.startsWith('missing') || e.field === '' ? '' : e.field }));
      return web.send(res, casePage(req, app, errors.length ? errors : [{ field: '', message: l.t('请补全决定内容', 'Complete the decision') }], { reason, missing }), 400);
    }
    if (action !== 'return' && req.body.confirm !== 'yes') {
      const base = web.base(req, l.t('确认决定', 'Confirm the decision'));
      const last = app.stageIndex === app.stages.length - 1;
      return web.send(
        res,
        <Page {...base}>
          <BackLink href={`/officer/cases/${id}`} l={l} />
          <h1>{action === 'reject' ? l.t('确认不予许可？', 'Reject this application?') : last ? l.t('确认批准并发证？', 'Approve and issue the certificate?') : l.t('确认审核通过并报县级审批？', 'Approve and pass to the county?')}</h1>
          <p>{app.number}</p>
          {reason ? <p>{reason}</p> : null}
          <form method="post" action={`/officer/cases/${id}/decide`}>
            <CsrfField token={base.csrf()} />
            <input type="hidden" name="action" value={action} />
            {reason ? <input type="hidden" name="reason" value={reason} /> : null}
            <input type="hidden" name="confirm" value="yes" />
            <Button>{l.t('确认', 'Confirm')}</Button>
          </form>
        </Page>,
      );
    }
    await decide(ctx, p, id, input as DecisionInput);
    res.redirect(303, `/officer/cases/${id}`);
  });

  /*
   * The dashboard: this month so far, the stats service's figures for the signed-in person's scope
   * (an admin: the county; an officer: their jurisdiction), and the same figures as CSV.
   */
  const monthStats = (req: Request) => {
    const to = chinaDate(ctx.clock.now());
    return computeStats(ctx, req.principal!, { from: `${to.slice(0, 8)}01`, to });
  };
  r.get('/officer/dashboard', staff, async (req, res) => {
    const l = web.lang(req);
    const st = await monthStats(req);
    const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
    const n = (x: number | null) => (x === null ? '—' : String(x));
    const base = web.base(req, l.t('统计', 'Dashboard'));
    const typeName = (code: string) => l.b(ctx.policy.type(code)?.names) || code;
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('统计', 'Dashboard')}</h1>
        <p className="caption">{st.period.from} – {st.period.to}{l.paren(st.scope.jurisdiction === 'all' ? l.t('全县', 'the whole county') : st.scope.jurisdiction.join(l.t('、', ', ')))}</p>
        <SummaryList
          rows={[
            { key: l.t('本期发证', 'Certificates issued this period'), value: String(st.certificates.issued.total) },
            { key: l.t('按承诺时限办结率', 'On time (committed deadline)'), value: pct(st.timeliness.onTimeCommittedRate) },
            { key: l.t('3 个工作日内办结占比', 'Decided within 3 working days'), value: pct(st.timeliness.within3WorkingDaysShare) },
            { key: l.t('办结工作日中位数', 'Median working days to decision'), value: n(st.timeliness.medianWorkingDays) },
            { key: l.t('当前超期', 'Overdue now'), value: String(st.overdueNow.committed) },
            { key: l.t('投诉答复率', 'Complaints answered'), value: pct(st.complaints.answerRate) },
            { key: l.t('满意率', 'Satisfaction'), value: pct(st.ratings.satisfactionRate) },
          ]}
        />
        <h2>{l.t('按事项', 'By certificate')}</h2>
        <table className="cases">
          <thead>
            <tr>
              <th scope="col">{l.t('事项', 'Certificate')}</th>
              <th scope="col">{l.t('收件', 'Received')}</th>
              <th scope="col">{l.t('办结', 'Decided')}</th>
              <th scope="col">{l.t('批准', 'Approved')}</th>
              <th scope="col">{l.t('退回补正', 'Returned')}</th>
              <th scope="col">{l.t('不予许可', 'Rejected')}</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(st.counts.byType).map(([code, c]) => (
              <tr>
                <td>{typeName(code)}</td>
                <td>{c.received}</td>
                <td>{c.decided}</td>
                <td>{c.approved}</td>
                <td>{c.returned}</td>
                <td>{c.rejected}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p><a href="/officer/dashboard.csv" download>{l.t('下载全部数据（CSV）', 'Download every figure (CSV)')}</a></p>
      </Page>,
    );
  });
  r.get('/officer/dashboard.csv', staff, async (req, res) => {
    const st = await monthStats(req);
    res.setHeader('Cache-Control', 'no-store');
    res.type('text/csv; charset=utf-8').attachment(`stats-${st.period.from}-${st.period.to}.csv`).send(statsCsv(st));
  });

  return r;
}
