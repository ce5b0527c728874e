import express, { type Request, type Response, type Router } from 'express';
import { countyWide } from '../lib/access';
import type { Township } from '../divisions/divisions';
import { AppError } from '../lib/errors';
import { chinaDate, periodOf } from '../lib/workdays';
import type { Principal } from '../lib/auth';
import { dashboard, dashboardCsv, townshipsInScope, type Dashboard, type DashboardQuery } from '../stats/dashboard.service';
import type { Stats } from '../stats/stats.service';
import { h, type SafeHtml } from './jsx';
import { staff } from './staff';
import { FigureTable } from './tables';
import { BackLink, Button, Page, SelectField, TextField, dateTime, type FieldError, type Lang } from './ui';
import type { Web } from './ui';

const pct = (x: number | null): string => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const num = (x: number | null): string => (x === null ? '—' : String(x));

/** The period and township asked for in the address; this month so far by default. */
function queryOf(req: Request, today: string): DashboardQuery {
  const { from, to } = periodOf(req.query.from, req.query.to, today);
  const township = typeof req.query.township === 'string' && /^\d{9}$/.test(req.query.township) ? req.query.township : undefined;
  return { from, to, ...(township ? { township } : {}) };
}

const SERIES = [
  { key: 'received', zh: '收件', en: 'Received', colour: '#1d4f91', of: (s: Stats) => s.counts.total.received },
  { key: 'decided', zh: '办结', en: 'Decided', colour: '#f47738', of: (s: Stats) => s.counts.total.decided },
  { key: 'issued', zh: '发证', en: 'Certificates issued', colour: '#00703c', of: (s: Stats) => s.certificates.issued.total },
] as const;

/**
 * The weekly trend as a bar chart drawn here, as SVG: three bars a week, a labelled scale, a title
 * and a description for screen readers; the same numbers follow in a table.
 */
function TrendChart({ l, trend }: { l: Lang; trend: Stats[] }): SafeHtml {
  const width = 760;
  const height = 260;
  const left = 40;
  const bottom = 36;
  const top = 16;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...trend.flatMap((w) => SERIES.map((s) => s.of(w))));
  const step = Math.max(1, Math.ceil(max / 4));
  const ceiling = step * 4;
  const groupW = (width - left - 8) / trend.length;
  const barW = Math.min(22, (groupW - 12) / SERIES.length);
  const y = (v: number) => top + plotH - (v / ceiling) * plotH;
  const described = trend.map((w) => `${w.period.from}${l.colon}${SERIES.map((s) => `${l.t(s.zh, s.en)} ${s.of(w)}`).join(l.t('，', ', '))}`).join(l.t('；', '; '));
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="trend-title trend-desc" xmlns="http://www.w3.org/2000/svg">
      <title id="trend-title">{l.t(`近 ${trend.length} 周收件、办结与发证`, `Received, decided and certificates issued, last ${trend.length} weeks`)}</title>
      <desc id="trend-desc">{described}</desc>
      {[0, 1, 2, 3, 4].map((i) => (
        <g>
          <line x1={left} x2={width - 8} y1={y(i * step)} y2={y(i * step)} stroke="#b1b4b6" stroke-width="1" />
          <text x={left - 6} y={y(i * step) + 4} text-anchor="end" font-size="12" fill="#0b0c0c">{i * step}</text>
        </g>
      ))}
      {trend.map((w, i) => {
        const x0 = left + i * groupW + (groupW - barW * SERIES.length) / 2;
        return (
          <g>
            {SERIES.map((s, j) => {
              const v = s.of(w);
              return <rect x={x0 + j * barW} y={y(v)} width={barW - 2} height={Math.max(0, top + plotH - y(v))} fill={s.colour} />;
            })}
            <text x={left + i * groupW + groupW / 2} y={height - bottom + 18} text-anchor="middle" font-size="12" fill="#0b0c0c">{w.period.from.slice(5)}</text>
          </g>
        );
      })}
    </svg>
  );
}

/** One row of figures for a scope (the whole scope, a township): what the per-township table shows. */
const rowFigures = (s: Stats): string[] => [
  String(s.counts.total.received),
  String(s.counts.total.decided),
  String(s.certificates.issued.total),
  pct(s.timeliness.onTimeCommittedRate),
  pct(s.timeliness.within3WorkingDaysShare),
  num(s.timeliness.medianWorkingDays),
  String(s.backlogNow),
  String(s.overdueNow.committed),
  pct(s.complaints.answerRate),
  pct(s.ratings.satisfactionRate),
];
const rowHeads = (l: Lang): string[] => [
  l.t('收件', 'Received'),
  l.t('办结', 'Decided'),
  l.t('发证', 'Issued'),
  l.t('按时办结率', 'On time'),
  l.t('3 日内办结', 'Within 3 days'),
  l.t('工作日中位数', 'Median days'),
  l.t('积压', 'Backlog'),
  l.t('超期', 'Overdue'),
  l.t('投诉答复率', 'Complaints answered'),
  l.t('满意率', 'Satisfaction'),
];

/** The dashboard: the stats service's figures for the person's scope, by township and by week; every figure as CSV. */
export function dashboardPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();

  const form = (l: Lang, q: DashboardQuery, townships: readonly Township[], errors?: FieldError[]) => (
    <form method="get" action="/officer/dashboard" className="filters">
      <TextField name="from" type="date" label={l.t('开始日期', 'From')} value={q.from} errors={errors} width="short" />
      <TextField name="to" type="date" label={l.t('结束日期', 'To')} value={q.to} errors={errors} width="short" />
      {townships.length > 1 ? (
        <SelectField name="township" label={l.t('乡镇', 'Township')} value={q.township} blank={l.t('全部', 'All')} errors={errors} options={townships.map((t) => ({ value: t.code, label: t.name }))} />
      ) : null}
      <Button secondary>{l.t('查看', 'Show')}</Button>
    </form>
  );

  /** The dashboard's figures for the asked period, or (a refusal) the form again with an error summary. */
  const load = async (req: Request, res: Response, view: 'trend' | 'townships') => {
    const l = web.lang(req);
    const p = req.principal!;
    const q = queryOf(req, chinaDate(ctx.clock.now()));
    const townships = townshipsInScope(p);
    try {
      return { l, p, q, townships, d: await dashboard(ctx, p, q, view) };
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
      const errors = web.fieldErrors(req, err.errors);
      const base = web.base(req, l.t('统计', 'Dashboard'), errors);
      web.send(res, <Page {...base}><h1>{l.t('统计', 'Dashboard')}</h1>{form(l, q, townships, errors)}</Page>, 400);
      return undefined;
    }
  };
  const scopeName = (l: Lang, p: Principal, q: DashboardQuery, townships: readonly Township[]) =>
    q.township ? (townships.find((t) => t.code === q.township)?.name ?? q.township) : countyWide(p) ? l.t('全县', 'The whole county') : townships.map((t) => t.name).join(l.t('、', ', ')) || (p.jurisdiction ?? []).join(', ');
  const params = (q: DashboardQuery) => new URLSearchParams({ from: q.from, to: q.to, ...(q.township ? { township: q.township } : {}) }).toString();

  r.get('/officer/dashboard', staff, async (req, res) => {
    const loaded = await load(req, res, 'trend');
    if (!loaded) return;
    const { l, p, q, townships, d } = loaded;
    const st = d.overall;
    const typeName = (code: string) => l.b(ctx.policy.type(code)?.names) || code;
    const csvHref = `/officer/dashboard.csv?${params(q)}`;
    const base = web.base(req, l.t('统计', 'Dashboard'));
    const tiles: [string, string][] = [
      [l.t('按承诺时限办结率', 'On time (committed deadline)'), pct(st.timeliness.onTimeCommittedRate)],
      [l.t('3 个工作日内办结占比', 'Decided within 3 working days'), pct(st.timeliness.within3WorkingDaysShare)],
      [l.t('办结工作日中位数', 'Median working days to decision'), num(st.timeliness.medianWorkingDays)],
      [l.t('积压（待审）', 'Backlog (waiting)'), String(st.backlogNow)],
      [l.t('当前超期', 'Overdue now'), String(st.overdueNow.committed)],
      [l.t('投诉答复率', 'Complaints answered'), pct(st.complaints.answerRate)],
      [l.t('满意率', 'Satisfaction'), pct(st.ratings.satisfactionRate)],
    ];
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('统计', 'Dashboard')}</h1>
        <p className="caption">{st.period.from} – {st.period.to}{l.paren(scopeName(l, p, q, townships))} · {l.t('数据截至', 'Figures as of')} {dateTime(st.asOf)}</p>
        {form(l, q, townships)}
        <dl className="tiles">
          <div className="tile tile-headline">
            <dt>{l.t('本期发证', 'Certificates issued this period')}</dt>
            <dd>{st.certificates.issued.total}</dd>
          </div>
          {tiles.map(([k, v]) => (
            <div className="tile">
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
        <h2>{l.t('每周趋势', 'Weekly trend')}</h2>
        <TrendChart l={l} trend={d.trend} />
        <ul className="legend" aria-hidden="true">
          {SERIES.map((s, i) => <li><span className={`swatch swatch-${i + 1}`} />{l.t(s.zh, s.en)}</li>)}
        </ul>
        <FigureTable id="trend-table" caption={l.t('每周数据（周一至周日）', 'By week (Monday to Sunday)')} heads={[l.t('周', 'Week'), ...SERIES.map((s) => l.t(s.zh, s.en)), l.t('按时办结率', 'On time')]}>
          {d.trend.map((w) => (
            <tr>
              <th scope="row">{w.period.from} – {w.period.to}</th>
              {SERIES.map((s) => <td>{s.of(w)}</td>)}
              <td>{pct(w.timeliness.onTimeCommittedRate)}</td>
            </tr>
          ))}
        </FigureTable>
        {townships.length > 1 && !q.township ? (
          <p><a href={`/officer/dashboard/townships?${params(q)}`}>{l.t('按乡镇查看各项指标', 'Every figure by township')}</a></p>
        ) : null}
        <FigureTable
          id="type-table"
          caption={l.t('按事项', 'By certificate')}
          heads={[l.t('事项', 'Certificate'), l.t('收件', 'Received'), l.t('办结', 'Decided'), l.t('批准', 'Approved'), l.t('退回补正', 'Returned'), l.t('不予许可', 'Rejected'), l.t('发证', 'Issued'), l.t('注销', 'Revoked')]}
        >
          {Object.entries(st.counts.byType).map(([code, c]) => (
            <tr>
              <th scope="row">{typeName(code)}</th>
              <td>{c.received}</td>
              <td>{c.decided}</td>
              <td>{c.approved}</td>
              <td>{c.returned}</td>
              <td>{c.rejected}</td>
              <td>{st.certificates.issued.byType[code] ?? 0}</td>
              <td>{st.certificates.revoked.byType[code] ?? 0}</td>
            </tr>
          ))}
        </FigureTable>
        <p><a href={csvHref} download>{l.t('下载全部数据（CSV）', 'Download every figure (CSV)')}</a></p>
      </Page>,
    );
  });

  r.get('/officer/dashboard.csv', staff, async (req, res) => {
    const loaded = await load(req, res, 'trend');
    if (loaded) sendCsv(res, loaded.d, '');
  });

  /** Every figure per township of the person's scope, over the same period: one stats computation per township. */
  r.get('/officer/dashboard/townships', staff, async (req, res) => {
    const loaded = await load(req, res, 'townships');
    if (!loaded) return;
    const { l, p, q, townships, d } = loaded;
    const base = web.base(req, l.t('按乡镇统计', 'Dashboard by township'));
    web.send(
      res,
      <Page {...base}>
        <BackLink href={`/officer/dashboard?${params(q)}`} l={l} />
        <h1>{l.t('按乡镇统计', 'Dashboard by township')}</h1>
        <p className="caption">{q.from} – {q.to}{l.paren(scopeName(l, p, { ...q, township: undefined }, townships))} · {l.t('数据截至', 'Figures as of')} {dateTime(d.overall.asOf)}</p>
        <FigureTable id="township-table" caption={l.t('各乡镇指标', 'Figures by township')} heads={[l.t('乡镇', 'Township'), ...rowHeads(l)]}>
          {d.byTownship.map(({ township, stats }) => (
            <tr>
              <th scope="row"><a href={`/officer/dashboard?${new URLSearchParams({ from: q.from, to: q.to, township: township.code }).toString()}`}>{township.name}</a></th>
              {rowFigures(stats).map((v) => <td>{v}</td>)}
            </tr>
          ))}
        </FigureTable>
        <p><a href={`/officer/dashboard/townships.csv?${params(q)}`} download>{l.t('下载全部数据（CSV）', 'Download every figure (CSV)')}</a></p>
      </Page>,
    );
  });
  r.get('/officer/dashboard/townships.csv', staff, async (req, res) => {
    const loaded = await load(req, res, 'townships');
    if (loaded) sendCsv(res, loaded.d, '-townships');
  });

  return r;
}

function sendCsv(res: Response, d: Dashboard, suffix: string): void {
  const q = d.query;
  res.setHeader('Cache-Control', 'no-store');
  res.type('text/csv; charset=utf-8').attachment(`stats-${q.from}-${q.to}${q.township ? `-${q.township}` : ''}${suffix}.csv`).send(dashboardCsv(d));
}
