import express, { type Request, type Response, type Router } from 'express';
import {
  actorOfAdmin,
  addStaff,
  addTerminal,
  adminLog,
  listAccounts,
  parseJurisdiction,
  resetCredential,
  setEnabled,
  setJurisdiction,
  type AdminAction,
  type Target,
} from '../accounts/administration';
import { loadVisible } from '../applications/applications.service';
import { revokeBody } from '../certificates/certificates.routes';
import { certificateView, getCertificate, revoke, REVOKE_REASONS, type RevokeReason } from '../certificates/certificates.service';
import { TOWNSHIPS, township as townshipOf } from '../divisions/divisions';
import { AppError } from '../lib/errors';
import { compile, toFieldProblems } from '../lib/validation';
import { messageFor } from '../notifications/notifications.service';
import { h } from './jsx';
import { adminOnly } from './staff';
import { FigureTable } from './tables';
import { BackLink, Button, CsrfField, Page, RadioField, SelectField, SummaryList, TextArea, TextField, dateTime, day, type FieldError, type Lang } from './ui';
import type { Web } from './ui';

const SERIAL = /^[0-9A-Za-z-]{6,40}$/;

const ACTIONS: Record<AdminAction, { zh: string; en: string }> = {
  create: { zh: '新建', en: 'created' },
  disable: { zh: '停用', en: 'disabled' },
  enable: { zh: '启用', en: 'enabled' },
  'reset-credential': { zh: '重置密码', en: 'reset the credential' },
  'set-jurisdiction': { zh: '设置管辖范围', en: 'set the jurisdiction' },
};

/**
 * Administration, for admins only (any other session: 404): officers and terminals through the
 * administration service the command line uses (every change in its log), and the revocation of a
 * certificate through the certificates service, with the reason list and the holder's notice.
 */
export function adminPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const validateRevoke = compile(revokeBody);

  const levelOptions = (l: Lang) => [
    { value: 'township', label: l.t('乡镇审核', 'Township review') },
    { value: 'county', label: l.t('县级审批', 'County approval') },
  ];
  const townshipOptions = TOWNSHIPS.map((t) => ({ value: t.code, label: `${t.name}（${t.code}）` }));
  const townshipName = (code: string) => townshipOf(code)?.name ?? code;

  /** A refusal of the service as field errors on the form it came from. */
  const refusal = (req: Request, err: unknown, labels: Record<string, string>): FieldError[] => {
    if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
    return web.fieldErrors(req, err.errors).map((e) => (labels[e.field] ? { ...e, message: `${labels[e.field]}${web.lang(req).colon}${e.message}` } : e));
  };

  /** A new password or secret: shown on this one answer only (no-store), never again. */
  const secretPage = (req: Request, res: Response, heading: string, who: string, secret: string, back: string) => {
    const l = web.lang(req);
    const base = web.base(req, heading);
    web.send(
      res,
      <Page {...base}>
        <h1>{heading}</h1>
        <div className="notice" role="status">
          <p>{who}</p>
          <p>{l.t('一次性密码（只显示这一次，请当面或通过安全渠道交给本人；系统只保存其散列值）：', 'One-time secret (shown only now: hand it over in person or through a safe channel; only its hash is stored):')}</p>
          <p className="secret" id="one-time-secret">{secret}</p>
        </div>
        <p><a href={back}>{l.t('返回', 'Back')}</a></p>
      </Page>,
    );
  };

  const staffForm = (req: Request, csrf: string, values: Record<string, string> = {}, errors?: FieldError[]) => {
    const l = web.lang(req);
    return (
      <form method="post" action="/admin/staff" novalidate>
        <CsrfField token={csrf} />
        <h2>{l.t('新建工作人员账号', 'New staff account')}</h2>
        <TextField name="username" label={l.t('用户名', 'User name')} hint={l.t('3–40 位小写字母、数字或 . _ -', '3–40 of a–z, 0–9, . _ -')} value={values.username} errors={errors} autocomplete="off" width="short" />
        <TextField name="name" label={l.t('姓名', 'Name')} value={values.name} errors={errors} autocomplete="off" width="short" />
        <SelectField name="role" label={l.t('角色', 'Role')} value={values.role ?? 'officer'} errors={errors} options={[{ value: 'officer', label: l.t('审批人员', 'Officer') }, { value: 'admin', label: l.t('管理员', 'Administrator') }]} />
        <SelectField name="level" label={l.t('审批层级（审批人员）', 'Level (officers)')} value={values.level} blank={l.t('请选择', 'Choose')} errors={errors} options={levelOptions(l)} />
        <TextField name="jurisdiction" label={l.t('管辖区划代码（审批人员）', 'Jurisdiction (officers)')} hint={l.t('县 6 位、乡镇 9 位或村 12 位代码，多个用逗号分隔，如 430725101', '6-digit county, 9-digit township or 12-digit village codes, separated by commas, e.g. 430725101')} value={values.jurisdiction} errors={errors} autocomplete="off" />
        <Button>{l.t('新建并生成一次性密码', 'Create with a one-time password')}</Button>
      </form>
    );
  };

  const terminalForm = (req: Request, csrf: string, values: Record<string, string> = {}, errors?: FieldError[]) => {
    const l = web.lang(req);
    return (
      <form method="post" action="/admin/terminals" novalidate>
        <CsrfField token={csrf} />
        <h2>{l.t('新建自助终端', 'New kiosk terminal')}</h2>
        <SelectField name="township" label={l.t('所在乡镇', 'Township')} value={values.township} blank={l.t('请选择', 'Choose')} errors={errors} options={townshipOptions} />
        <TextField name="name" label={l.t('终端名称', 'Terminal name')} hint={l.t('如：陬市镇便民服务中心 1 号机', 'e.g. Zoushi town service centre, no. 1')} value={values.name} errors={errors} autocomplete="off" />
        <Button>{l.t('新建并生成一次性密钥', 'Create with a one-time secret')}</Button>
      </form>
    );
  };

  const homePage = async (req: Request, form?: { which: 'staff' | 'terminal'; values: Record<string, string>; errors: FieldError[] }) => {
    const l = web.lang(req);
    const { staff, terminals } = await listAccounts(ctx);
    const log = await adminLog(ctx, 20);
    const base = web.base(req, l.t('管理', 'Administration'), form?.errors);
    const state = (disabled: boolean) => (disabled ? <strong className="tag tag-rejected">{l.t('已停用', 'Disabled')}</strong> : <strong className="tag tag-approved">{l.t('启用', 'Active')}</strong>);
    return (
      <Page {...base}>
        <h1>{l.t('管理', 'Administration')}</h1>
        <p><a href="/admin/revoke">{l.t('注销证件', 'Revoke a certificate')}</a></p>
        <h2>{l.t('工作人员', 'Staff')}</h2>
        <FigureTable id="staff" label={l.t('工作人员', 'Staff')} heads={[l.t('用户名', 'User name'), l.t('姓名', 'Name'), l.t('角色', 'Role'), l.t('管辖范围', 'Jurisdiction'), l.t('状态', 'State')]}>
          {staff.map((a) => (
            <tr>
              <th scope="row"><a href={`/admin/staff/${a.id}`}>{a.username}</a></th>
              <td>{a.name}</td>
              <td>{a.role === 'admin' ? l.t('管理员', 'Administrator') : a.level === 'county' ? l.t('县级审批', 'County approval') : l.t('乡镇审核', 'Township review')}</td>
              <td>{a.role === 'admin' ? l.t('全县', 'Whole county') : a.jurisdiction.map((j) => (j.length === 9 ? `${townshipName(j)} ${j}` : j)).join(l.t('、', ', '))}</td>
              <td>{state(a.disabled)}</td>
            </tr>
          ))}
        </FigureTable>
        <h2>{l.t('自助终端', 'Kiosk terminals')}</h2>
        <FigureTable id="terminals" label={l.t('自助终端', 'Kiosk terminals')} heads={[l.t('终端编号', 'Terminal id'), l.t('名称', 'Name'), l.t('所在乡镇', 'Township'), l.t('状态', 'State')]}>
          {terminals.length === 0 ? <tr><td colspan={4}>{l.t('暂无终端。', 'No terminals yet.')}</td></tr> : null}
          {terminals.map((t) => (
            <tr>
              <th scope="row"><a href={`/admin/terminals/${encodeURIComponent(t.terminalId)}`}>{t.terminalId}</a></th>
              <td>{t.name}</td>
              <td>{townshipName(t.township)}</td>
              <td>{state(t.disabled)}</td>
            </tr>
          ))}
        </FigureTable>
        {staffForm(req, base.csrf(), form?.which === 'staff' ? form.values : {}, form?.which === 'staff' ? form.errors : undefined)}
        {terminalForm(req, base.csrf(), form?.which === 'terminal' ? form.values : {}, form?.which === 'terminal' ? form.errors : undefined)}
        <h2>{l.t('管理操作记录', 'Administration log')}</h2>
        {log.length === 0 ? <p>{l.t('暂无记录。', 'Nothing yet.')}</p> : (
          <ol className="timeline">
            {log.map((e) => (
              <li>
                <time>{dateTime(e.at)}</time>
                <p>{e.actor.name} · {l.b(ACTIONS[e.action]) || e.action} · {e.target.label}{e.detail ? ` · ${e.detail}` : ''}</p>
              </li>
            ))}
          </ol>
        )}
      </Page>
    );
  };

  r.get('/admin', adminOnly, async (req, res) => web.send(res, await homePage(req)));

  r.post('/admin/staff', adminOnly, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const values = Object.fromEntries(['username', 'name', 'role', 'level', 'jurisdiction'].map((k) => [k, String(req.body[k] ?? '').slice(0, 200)]));
    const role = values.role === 'admin' ? 'admin' : 'officer';
    try {
      const created = await addStaff(ctx, actorOfAdmin(req.principal!), {
        username: values.username!,
        name: values.name!,
        role,
        ...(role === 'officer' ? { level: values.level, jurisdiction: parseJurisdiction(values.jurisdiction!) } : {}),
      });
      secretPage(req, res, l.t('账号已新建', 'Account created'), `${l.t('用户名', 'User name')}${l.colon}${created.username}`, created.password, `/admin/staff/${created.id}`);
    } catch (err) {
      const errors = refusal(req, err, {});
      web.send(res, await homePage(req, { which: 'staff', values, errors }), 400);
    }
  });

  r.post('/admin/terminals', adminOnly, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const values = { township: String(req.body.township ?? '').slice(0, 20), name: String(req.body.name ?? '').slice(0, 200) };
    try {
      const created = await addTerminal(ctx, actorOfAdmin(req.principal!), values);
      secretPage(req, res, l.t('终端已新建', 'Terminal created'), `${l.t('终端编号', 'Terminal id')}${l.colon}${created.terminalId}`, created.secret, `/admin/terminals/${encodeURIComponent(created.terminalId)}`);
    } catch (err) {
      const errors = refusal(req, err, {});
      web.send(res, await homePage(req, { which: 'terminal', values, errors }), 400);
    }
  });

  /** One staff account or terminal: jurisdiction, disable or enable, a new credential. */
  const accountPage = async (req: Request, target: Target, errors?: FieldError[], values: Record<string, string> = {}) => {
    const l = web.lang(req);
    const { staff, terminals } = await listAccounts(ctx);
    const account = target.kind === 'staff' ? staff.find((a) => a.id === target.id) : undefined;
    const terminal = target.kind === 'terminal' ? terminals.find((t) => t.terminalId === target.terminalId) : undefined;
    if (!account && !terminal) throw new AppError('not_found');
    const path = account ? `/admin/staff/${account.id}` : `/admin/terminals/${encodeURIComponent(terminal!.terminalId)}`;
    const label = account ? account.username : terminal!.terminalId;
    const disabled = (account ?? terminal)!.disabled;
    const base = web.base(req, label, errors);
    return (
      <Page {...base}>
        <BackLink href="/admin" l={l} />
        <h1>{label}</h1>
        <SummaryList
          rows={[
            { key: l.t('名称', 'Name'), value: (account ?? terminal)!.name },
            ...(account
              ? [
                  { key: l.t('角色', 'Role'), value: account.role === 'admin' ? l.t('管理员', 'Administrator') : account.level === 'county' ? l.t('县级审批', 'County approval') : l.t('乡镇审核', 'Township review') },
                  { key: l.t('管辖范围', 'Jurisdiction'), value: account.role === 'admin' ? l.t('全县', 'Whole county') : account.jurisdiction.join(', ') },
                ]
              : [{ key: l.t('所在乡镇', 'Township'), value: `${townshipName(terminal!.township)} ${terminal!.township}` }]),
            { key: l.t('状态', 'State'), value: disabled ? l.t('已停用', 'Disabled') : l.t('启用', 'Active') },
            { key: l.t('创建时间', 'Created'), value: day((account ?? terminal)!.createdAt) },
          ]}
        />
        {account?.role === 'officer' || terminal ? (
          <form method="post" action={`${path}/jurisdiction`} novalidate>
            <CsrfField token={base.csrf()} />
            <h2>{l.t('设置管辖范围', 'Set the jurisdiction')}</h2>
            {account ? (
              <div>
                <SelectField name="level" label={l.t('审批层级', 'Level')} value={values.level ?? account.level ?? undefined} errors={errors} options={levelOptions(l)} />
                <TextField name="jurisdiction" label={l.t('管辖区划代码', 'Jurisdiction')} hint={l.t('多个用逗号分隔', 'Separate several with commas')} value={values.jurisdiction ?? account.jurisdiction.join(',')} errors={errors} autocomplete="off" />
              </div>
            ) : (
              <SelectField name="township" label={l.t('所在乡镇', 'Township')} value={values.township ?? terminal!.township} errors={errors} options={townshipOptions} />
            )}
            <Button secondary>{l.t('保存', 'Save')}</Button>
          </form>
        ) : null}
        <form method="post" action={`${path}/${disabled ? 'enable' : 'disable'}`}>
          <CsrfField token={base.csrf()} />
          <h2>{disabled ? l.t('重新启用', 'Enable again') : l.t('停用', 'Disable')}</h2>
          <p className="hint">{disabled ? l.t('启用后可以重新登录。', 'After this, it can sign in again.') : l.t('停用后立即不能登录，已登录的会话在下一次操作时结束。', 'It can no longer sign in; open sessions end at their next request.')}</p>
          <Button secondary>{disabled ? l.t('启用', 'Enable') : l.t('停用', 'Disable')}</Button>
        </form>
        <form method="post" action={`${path}/reset`}>
          <CsrfField token={base.csrf()} />
          <h2>{account ? l.t('重置密码', 'Reset the password') : l.t('重置终端密钥', 'Reset the terminal secret')}</h2>
          <p className="hint">{l.t('生成新的一次性密码并只显示一次；原密码及所有已登录会话立即失效。', 'Makes a new one-time secret, shown once; the old one and every open session stop at once.')}</p>
          <Button secondary>{l.t('重置', 'Reset')}</Button>
        </form>
      </Page>
    );
  };

  const pathOf = (t: Target) => (t.kind === 'staff' ? `/admin/staff/${t.id}` : `/admin/terminals/${encodeURIComponent(t.terminalId)}`);

  r.get('/admin/staff/:id', adminOnly, async (req, res) => web.send(res, await accountPage(req, { kind: 'staff', id: String(req.params.id) })));
  r.get('/admin/terminals/:id', adminOnly, async (req, res) => web.send(res, await accountPage(req, { kind: 'terminal', terminalId: String(req.params.id) })));
  for (const kind of ['staff', 'terminals'] as const) {
    const at = (action: string) => `/admin/${kind}/:id/${action}`;
    const target = (req: Request): Target => (kind === 'staff' ? { kind: 'staff', id: String(req.params.id) } : { kind: 'terminal', terminalId: String(req.params.id) });
    r.post(at('disable'), adminOnly, web.csrf, async (req, res) => {
      await setEnabled(ctx, actorOfAdmin(req.principal!), target(req), false);
      res.redirect(303, pathOf(target(req)));
    });
    r.post(at('enable'), adminOnly, web.csrf, async (req, res) => {
      await setEnabled(ctx, actorOfAdmin(req.principal!), target(req), true);
      res.redirect(303, pathOf(target(req)));
    });
    r.post(at('reset'), adminOnly, web.csrf, async (req, res) => {
      const l = web.lang(req);
      const t = target(req);
      const done = await resetCredential(ctx, actorOfAdmin(req.principal!), t);
      secretPage(req, res, l.t('已重置', 'Reset done'), done.label, done.secret, pathOf(t));
    });
    r.post(at('jurisdiction'), adminOnly, web.csrf, async (req, res) => {
      const t = target(req);
      const values = { level: String(req.body.level ?? '').slice(0, 20), jurisdiction: String(req.body.jurisdiction ?? '').slice(0, 200), township: String(req.body.township ?? '').slice(0, 20) };
      try {
        await setJurisdiction(ctx, actorOfAdmin(req.principal!), t, t.kind === 'staff' ? { level: values.level, jurisdiction: parseJurisdiction(values.jurisdiction) } : { township: values.township });
      } catch (err) {
        return web.send(res, await accountPage(req, t, refusal(req, err, {}), values), 400);
      }
      res.redirect(303, pathOf(t));
    });
  }

  /* Revocation: find the certificate, choose the reason, confirm; the holder is told (the notice is shown). */
  const revokePage = async (req: Request, serial: string | undefined, errors?: FieldError[], values: { reason?: string; text?: string } = {}) => {
    const l = web.lang(req);
    const base = web.base(req, l.t('注销证件', 'Revoke a certificate'), errors);
    const cert = serial ? certificateView(ctx, await getCertificate(ctx, req.principal!, serial)) : undefined;
    return (
      <Page {...base}>
        <BackLink href="/admin" l={l} />
        <h1>{l.t('注销证件', 'Revoke a certificate')}</h1>
        <form method="get" action="/admin/revoke" className="filters">
          <TextField name="serial" label={l.t('证件编号', 'Certificate serial')} value={serial} autocomplete="off" errors={cert ? undefined : errors} />
          <Button secondary>{l.t('查找', 'Find')}</Button>
        </form>
        {cert ? (
          <section aria-labelledby="cert">
            <h2 id="cert">{cert.serial}</h2>
            <SummaryList
              rows={[
                { key: l.t('证件', 'Certificate'), value: l.b(cert.typeName) },
                { key: l.t('持证人', 'Holder'), value: `${cert.holder.name}${l.paren(cert.holder.idNumber ?? '')}` },
                { key: l.t('办件', 'Case'), value: <a href={`/officer/cases/${cert.applicationId}`}>{cert.applicationNumber ?? ''}</a> },
                { key: l.t('发证日期', 'Issued'), value: day(cert.issuedAt) },
                { key: l.t('状态', 'Status'), value: cert.status === 'revoked' ? `${l.t('已注销', 'Revoked')} ${day(cert.revokedAt)}${l.paren(cert.revokeReason ?? '')}` : cert.status === 'valid' ? l.t('有效', 'Valid') : l.t('已过期', 'Expired') },
              ]}
            />
            {cert.status === 'valid' ? (
              <form method="post" action="/admin/revoke" novalidate>
                <CsrfField token={base.csrf()} />
                <input type="hidden" name="serial" value={cert.serial} />
                <RadioField name="reason" label={l.t('注销理由', 'Reason for revocation')} value={values.reason} errors={errors} options={(Object.keys(REVOKE_REASONS) as RevokeReason[]).map((k) => ({ value: k, label: l.b(REVOKE_REASONS[k]) }))} />
                <TextArea name="text" label={l.t('具体情况（选“其他原因”时必填）', 'Particulars (required for “Other reason”)')} value={values.text} errors={errors} maxlength={500} />
                <p className="hint">{l.t('注销后，核验页面立即显示“已注销”，持证人会收到注销通知及理由。', 'Once revoked, the verification page says so at once, and the holder is sent a notice with the reason.')}</p>
                <Button>{l.t('继续', 'Continue')}</Button>
              </form>
            ) : null}
          </section>
        ) : null}
      </Page>
    );
  };

  r.get('/admin/revoke', adminOnly, async (req, res) => {
    const serial = typeof req.query.serial === 'string' && req.query.serial.trim() ? req.query.serial.trim() : undefined;
    if (serial && !SERIAL.test(serial)) throw new AppError('not_found');
    web.send(res, await revokePage(req, serial));
  });

  r.post('/admin/revoke', adminOnly, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const p = req.principal!;
    const serial = String(req.body.serial ?? '').trim();
    if (!SERIAL.test(serial)) throw new AppError('not_found');
    const text = typeof req.body.text === 'string' && req.body.text.trim() ? req.body.text.trim() : undefined;
    const input = { reason: String(req.body.reason ?? ''), ...(text ? { text } : {}) };
    if (!validateRevoke(input)) {
      const labels: Record<string, string> = { reason: l.t('注销理由', 'Reason'), text: l.t('具体情况', 'Particulars') };
      const errors = web.fieldErrors(req, toFieldProblems(validateRevoke.errors), (f) => labels[f]).map((e) => (e.field === '' ? { ...e, field: 'text' } : e));
      return web.send(res, await revokePage(req, serial, errors, input), 400);
    }
    if (req.body.confirm !== 'yes') {
      const cert = certificateView(ctx, await getCertificate(ctx, p, serial));
      const base = web.base(req, l.t('确认注销', 'Confirm the revocation'));
      return web.send(
        res,
        <Page {...base}>
          <BackLink href={`/admin/revoke?serial=${encodeURIComponent(serial)}`} l={l} />
          <h1>{l.t('确认注销该证件？', 'Revoke this certificate?')}</h1>
          <SummaryList
            rows={[
              { key: l.t('证件编号', 'Serial'), value: cert.serial },
              { key: l.t('持证人', 'Holder'), value: cert.holder.name },
              { key: l.t('注销理由', 'Reason'), value: `${l.b(REVOKE_REASONS[input.reason as RevokeReason])}${text ? `${l.colon}${text}` : ''}` },
            ]}
          />
          <p>{l.t('注销不可撤回。', 'A revocation cannot be undone.')}</p>
          <form method="post" action="/admin/revoke">
            <CsrfField token={base.csrf()} />
            <input type="hidden" name="serial" value={serial} />
            <input type="hidden" name="reason" value={input.reason} />
            {text ? <input type="hidden" name="text" value={text} /> : null}
            <input type="hidden" name="confirm" value="yes" />
            <Button>{l.t('确认注销', 'Revoke')}</Button>
          </form>
        </Page>,
      );
    }
    const revoked = await revoke(ctx, p, serial, input as { reason: RevokeReason; text?: string });
    // The holder's notice: the message the outbox sends for this revocation, word for word.
    const app = await loadVisible(ctx, p, revoked.applicationId);
    const entry = [...app.history].reverse().find((e) => e.action === 'revoke-certificate');
    const notice = entry ? messageFor(ctx, app, entry)?.text : undefined;
    const base = web.base(req, l.t('证件已注销', 'Certificate revoked'));
    web.send(
      res,
      <Page {...base}>
        <div className="confirmation" role="status">
          <h1>{l.t('证件已注销', 'Certificate revoked')}</h1>
          <p className="reference">{revoked.serial}</p>
        </div>
        {notice ? (
          <section aria-labelledby="notice">
            <h2 id="notice">{l.t('已发给持证人的通知', 'The notice sent to the holder')}</h2>
            <p className="notice">{notice}</p>
          </section>
        ) : null}
        <p><a href="/admin/revoke">{l.t('注销另一份证件', 'Revoke another certificate')}</a> · <a href="/admin">{l.t('返回管理', 'Back to administration')}</a></p>
      </Page>,
    );
  });

  return r;
}
