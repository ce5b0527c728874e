import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import express, { type Request, type Router } from 'express';
import { recordSearch } from '../audit/audit.service';
import { TYPE_CODES } from '../catalogue/catalogue';
import { township as townshipOf } from '../divisions/divisions';
import { AppError } from '../lib/errors';
import { limiter } from '../lib/ratelimit';
import { chinaDate, periodOf } from '../lib/workdays';
import type { SearchQuery } from '../ledger/ledger.schemas';
import { ledgerCsv, ledgerPage, searchApplications, type LedgerQuery } from '../ledger/ledger.service';
import { townshipsInScope } from '../stats/dashboard.service';
import { h } from './jsx';
import { staff } from './staff';
import { FigureTable } from './tables';
import { Button, CheckboxField, CsrfField, Page, SelectField, StatusTag, TextField, day, type FieldError, type Lang } from './ui';
import type { Web } from './ui';

const PAGE_SIZE = 50;
const BY = ['number', 'accessCode', 'idNumber', 'name'] as const;
type By = (typeof BY)[number];

/** The register's filters as the address gives them; anything malformed is simply not applied. */
function ledgerQueryOf(req: Request, today: string): LedgerQuery {
  const s = (k: string) => (typeof req.query[k] === 'string' ? (req.query[k] as string) : undefined);
  const { from, to } = periodOf(req.query.from, req.query.to, today);
  const type = s('type') && (TYPE_CODES as readonly string[]).includes(s('type')!) ? s('type') : undefined;
  const township = s('township') && /^\d{9}$/.test(s('township')!) ? s('township') : undefined;
  const outcome = s('outcome') === 'approved' || s('outcome') === 'rejected' ? (s('outcome') as 'approved' | 'rejected') : undefined;
  const page = s('page') && /^[1-9]\d{0,5}$/.test(s('page')!) ? Number(s('page')) : 1;
  return { from, to, type, township, outcome, page, pageSize: PAGE_SIZE };
}

const filterParams = (q: LedgerQuery): URLSearchParams =>
  new URLSearchParams(Object.entries({ from: q.from, to: q.to, type: q.type, township: q.township, outcome: q.outcome }).filter((e): e is [string, string] => !!e[1]));

/**
 * Search and the register (台账): the ledger use cases the API calls (`searchApplications`,
 * `ledgerPage`, `ledgerCsv`), with the same access log. A search is a POST (an ID number or a name
 * never travels in an address); names and ID numbers are looked up by their keyed hashes.
 */
export function recordPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const searchLimit = limiter({ name: 'page-search', windowMs: 60_000, limit: 60, keyOf: (req) => req.principal?.id }, ctx.counterStores);
  const typeName = (l: Lang, code: string) => l.b(ctx.policy.type(code)?.names) || code;

  const searchPage = (req: Request, values: { by?: string; value?: string; prefix?: boolean }, errors?: FieldError[], found?: Awaited<ReturnType<typeof searchApplications>>['items']) => {
    const l = web.lang(req);
    const base = web.base(req, l.t('查找办件', 'Find a case'), errors);
    const labels: Record<By, string> = { number: l.t('受理编号', 'Case number'), accessCode: l.t('查询码', 'Access code'), idNumber: l.t('身份证号码（夫妻任一方）', 'ID number (either spouse)'), name: l.t('姓名', 'Name') };
    return (
      <Page {...base}>
        <h1>{l.t('查找办件', 'Find a case')}</h1>
        <p className="hint">{l.t('只查找您管辖范围内的办件；每次查找都记入查阅日志。', 'Only cases in your jurisdiction are found; every search is written to the access log.')}</p>
        <form method="post" action="/officer/search" className="filters" novalidate>
          <CsrfField token={base.csrf()} />
          <SelectField name="by" label={l.t('查找方式', 'Search by')} value={values.by ?? 'number'} errors={errors} options={BY.map((b) => ({ value: b, label: labels[b] }))} />
          <TextField name="value" label={l.t('查找内容', 'Search for')} value={values.value} errors={errors} autocomplete="off" maxlength={40} />
          <CheckboxField name="prefix" label={l.t('按姓名开头查找', 'Name begins with')} checked={values.prefix ?? false} />
          <Button>{l.t('查找', 'Search')}</Button>
        </form>
        {found === undefined ? null : found.length === 0 ? (
          <p>{l.t('没有找到办件。', 'No case found.')}</p>
        ) : (
          <FigureTable
            id="found"
            caption={l.t(`找到 ${found.length} 件`, `${found.length} found`)}
            heads={[l.t('受理编号', 'Case number'), l.t('事项', 'Certificate'), l.t('申请人', 'Applicant'), l.t('乡镇', 'Township'), l.t('状态', 'Status'), l.t('受理日期', 'Submitted'), l.t('证件编号', 'Certificate')]}
          >
            {found.map((it) => (
              <tr>
                <th scope="row">{it.number ? <a href={`/officer/cases/${it.id}`}>{it.number}</a> : l.t('草稿', 'Draft')}</th>
                <td>{typeName(l, it.type)}</td>
                <td>{it.resident.name}<span className="caption">{it.resident.idNumber}</span></td>
                <td>{(it.township && townshipOf(it.township)?.name) ?? it.township ?? ''}</td>
                <td><StatusTag l={l} status={it.status} /></td>
                <td>{day(it.submittedAt)}</td>
                <td>{it.certificateSerial ?? ''}</td>
              </tr>
            ))}
          </FigureTable>
        )}
      </Page>
    );
  };

  r.get('/officer/search', staff, (req, res) => web.send(res, searchPage(req, {})));
  r.post('/officer/search', staff, web.csrf, searchLimit, async (req, res) => {
    const l = web.lang(req);
    const p = req.principal!;
    const by = (BY as readonly string[]).includes(String(req.body.by)) ? (String(req.body.by) as By) : 'number';
    const value = String(req.body.value ?? '').trim().slice(0, 40);
    const prefix = req.body.prefix === 'true';
    if (!value) return web.send(res, searchPage(req, { by, value, prefix }, [{ field: 'value', message: l.t('请填写查找内容', 'Enter what to search for') }]), 400);
    const q: SearchQuery = { [by]: value, ...(by === 'name' ? { match: prefix ? 'prefix' : 'exact' } : {}), limit: 50 };
    let out;
    try {
      out = await searchApplications(ctx, p, q);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
      // The service names the criterion's field; on this page it is the one text box.
      const errors = web.fieldErrors(req, err.errors).map((e) => ({ ...e, field: 'value' }));
      return web.send(res, searchPage(req, { by, value, prefix }, errors), 400);
    }
    await recordSearch(ctx, req, p, `search:${out.kind}`, out.items.map((i) => i.id));
    web.send(res, searchPage(req, { by, value, prefix }, undefined, out.items));
  });

  r.get('/officer/register', staff, async (req, res) => {
    const l = web.lang(req);
    const p = req.principal!;
    const q = ledgerQueryOf(req, chinaDate(ctx.clock.now()));
    const townships = townshipsInScope(p);
    const form = (errors?: FieldError[]) => (
      <form method="get" action="/officer/register" className="filters">
        <TextField name="from" type="date" label={l.t('决定日期自', 'Decided from')} value={q.from} errors={errors} width="short" />
        <TextField name="to" type="date" label={l.t('至', 'To')} value={q.to} errors={errors} width="short" />
        <SelectField name="type" label={l.t('事项', 'Certificate')} value={q.type} blank={l.t('全部事项', 'All certificates')} options={TYPE_CODES.map((c) => ({ value: c, label: typeName(l, c) }))} />
        {townships.length > 1 ? <SelectField name="township" label={l.t('乡镇', 'Township')} value={q.township} blank={l.t('全部', 'All')} options={townships.map((t) => ({ value: t.code, label: t.name }))} /> : null}
        <SelectField name="outcome" label={l.t('结果', 'Outcome')} value={q.outcome} blank={l.t('全部', 'All')} options={[{ value: 'approved', label: l.t('批准', 'Approved') }, { value: 'rejected', label: l.t('不予许可', 'Rejected') }]} />
        <Button secondary>{l.t('查看', 'Show')}</Button>
      </form>
    );
    let page;
    try {
      page = await ledgerPage(ctx, p, q);
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
      const errors = web.fieldErrors(req, err.errors);
      return web.send(res, <Page {...web.base(req, l.t('台账', 'Register'), errors)}><h1>{l.t('台账', 'Register')}</h1>{form(errors)}</Page>, 400);
    }
    await recordSearch(ctx, req, p, 'ledger:page', page.items.map((i) => i.id));
    const params = filterParams(q);
    const pages = Math.max(1, Math.ceil(page.total / q.pageSize));
    const base = web.base(req, l.t('台账', 'Register'));
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('台账', 'Register')}</h1>
        <p className="caption">{l.t('已作出决定的办件及所发证件', 'Decided cases and the certificates issued with them')}</p>
        {form()}
        <p>{l.t(`共 ${page.total} 件`, `${page.total} in all`)} · <a href={`/officer/register.csv?${params.toString()}`} download>{l.t('导出 CSV', 'Export CSV')}</a></p>
        {page.items.length === 0 ? (
          <p>{l.t('该期间没有已决定的办件。', 'No case was decided in this period.')}</p>
        ) : (
          <FigureTable
            id="ledger"
            caption={l.t(`第 ${q.page} / ${pages} 页`, `Page ${q.page} of ${pages}`)}
            heads={[l.t('受理编号', 'Case number'), l.t('事项', 'Certificate'), l.t('乡镇', 'Township'), l.t('申请人', 'Applicant'), l.t('结果', 'Outcome'), l.t('决定日期', 'Decided'), l.t('决定人', 'Decided by'), l.t('证件编号', 'Certificate')]}
          >
            {page.items.map((it) => (
              <tr>
                <th scope="row"><a href={`/officer/cases/${it.id}`}>{it.number}</a></th>
                <td>{typeName(l, it.type)}</td>
                <td>{(it.township && townshipOf(it.township)?.name) ?? it.township ?? ''}</td>
                <td>{it.resident.name}<span className="caption">{it.resident.idNumber}</span></td>
                <td><StatusTag l={l} status={it.outcome} />{it.reason ? <span className="caption">{it.reason}</span> : null}</td>
                <td>{day(it.decidedAt)}</td>
                <td>{it.decidedBy ?? ''}</td>
                <td>{it.certificate ? <span>{it.certificate.serial}{it.certificate.status === 'revoked' ? <span className="caption">{l.t('已注销', 'Revoked')}</span> : null}</span> : ''}</td>
              </tr>
            ))}
          </FigureTable>
        )}
        {q.page < pages ? <p><a href={`/officer/register?${new URLSearchParams([...params, ['page', String(q.page + 1)]]).toString()}`}>{l.t('下一页', 'Next page')}</a></p> : null}
        {q.page > 1 ? <p><a href={`/officer/register?${new URLSearchParams([...params, ['page', String(q.page - 1)]]).toString()}`}>{l.t('上一页', 'Previous page')}</a></p> : null}
      </Page>,
    );
  });

  /** The whole period as CSV: the API's export (UTF-8 with BOM, formulas defused), each row in the access log. */
  r.get('/officer/register.csv', staff, async (req, res) => {
    const p = req.principal!;
    const q = ledgerQueryOf(req, chinaDate(ctx.clock.now()));
    const rows = ledgerCsv(ctx, p, q, (ids) => recordSearch(ctx, req, p, 'ledger:csv', ids));
    // The header, then the first rows: the period is checked before anything is sent, so a refusal is a page.
    const first = [await rows.next(), await rows.next()];
    res.setHeader('Cache-Control', 'no-store');
    res.type('text/csv; charset=utf-8').attachment(`ledger-${q.from}-${q.to}.csv`);
    await pipeline(
      Readable.from((async function* () {
        for (const r of first) if (!r.done) yield r.value;
        yield* rows;
      })()),
      res,
    );
  });

  return r;
}
