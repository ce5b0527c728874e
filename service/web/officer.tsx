import express, { type Request, type RequestHandler, type Router } from 'express';
import { checkCredentials } from '../accounts/accounts.service';
import { TYPE_CODES } from '../catalogue/catalogue';
import { AppError, notFound, PROBLEMS } from '../lib/errors';
import { limiter } from '../lib/ratelimit';
import { claim, queue } from '../review/review.service';
import { h } from './jsx';
import { startSession } from './session';
import { Button, CsrfField, Page, SelectField, StatusTag, TextField, day, dateTime, type FieldError } from './ui';
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
    if (account.role !== 'officer' && account.role !== 'admin') return refused();
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
          {p.role === 'admin' ? l.t('全县所有待办（管理员）', 'Every queue in the county (administrator)') : `${p.level === 'county' ? l.t('县级审批', 'County approval') : l.t('乡镇审核', 'Township review')}${l.colon}${(p.jurisdiction ?? []).join(l.t('、', ', '))}`}
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
                    {p.role === 'officer' && (!it.claim || it.claim.mine) ? (
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
    res.redirect(303, `/officer?mine=true`);
  });

  return r;
}
