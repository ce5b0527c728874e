import express, { type Request, type Router } from 'express';
import { TYPE_CODES } from '../catalogue/catalogue';
import { serviceGuide } from '../catalogue/catalogue.service';
import type { EligibilityResult } from '../eligibility/eligibility.service';
import { AppError } from '../lib/errors';
import { limiter } from '../lib/ratelimit';
import { answerText, evaluateForPage, Fields, GroundField, labelOf } from './fields';
import { CHILD_FIELDS, fieldValue, getPath, inSection, readFields, SECTIONS, type SectionSpec } from './forms';
import { Fragment, h, type SafeHtml } from './jsx';
import { BackLink, Button, CsrfField, Page, SummaryList, type FieldError } from './ui';
import type { Web } from './ui';

/** How many children the pre-check carries at most (the form schema sets its own bound). */
const MAX_CHILDREN = 20;

type Form = Record<string, unknown>;

/**
 * The answers so far, from a posted pre-check page: every page carries the earlier answers as hidden
 * fields (nothing is stored, and it works without JavaScript), named as the visible fields are.
 */
function readAnswers(sections: SectionSpec[], body: Record<string, unknown>): Form {
  const form: Form = {};
  for (const s of sections) {
    if (s.kind === 'children') {
      const kids = Array.from({ length: MAX_CHILDREN }, (_, i) => readFields(CHILD_FIELDS, body, `children.${i}.`)).filter((c) => Object.keys(c).length > 0);
      if (kids.length) form.children = kids;
    } else if (s.kind === 'ground') {
      if (typeof body.ground === 'string' && body.ground) form.ground = body.ground;
    } else {
      Object.assign(form, readFields(s.fields, body));
    }
  }
  return form;
}

/** The answers as hidden fields, except those the page asks again (`asked`). */
function HiddenAnswers({ sections, form, asked }: { sections: SectionSpec[]; form: Form; asked?: SectionSpec }): SafeHtml {
  const pairs: [string, string][] = [];
  for (const s of sections) {
    if (s.kind === 'children') {
      ((form.children as Form[] | undefined) ?? []).forEach((child, i) => {
        for (const f of CHILD_FIELDS) pairs.push([`children.${i}.${f.name}`, fieldValue(child, f.name)]);
      });
    } else if (s !== asked) {
      if (s.kind === 'ground') pairs.push(['ground', typeof form.ground === 'string' ? form.ground : '']);
      else for (const f of s.fields) pairs.push([f.name, fieldValue(form, f.name)]);
    }
  }
  return <Fragment>{pairs.filter(([, v]) => v !== '').map(([name, value]) => <input type="hidden" name={name} value={value} />)}</Fragment>;
}

/**
 * 条件自测 as a short journey, GOV.UK style: one small group of questions per page, the answers
 * carried from page to page in the form itself (nothing stored, no script needed), ending at the
 * result of the same evaluation as submission (`evaluateApplication`): each ground met or not.
 */
export function precheckPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const precheckLimit = limiter({ name: 'page-eligibility-check', windowMs: 60_000, limit: 60 }, ctx.counterStores);

  r.get('/precheck', (req, res) => {
    const base = web.base(req, web.lang(req).t('条件自测', 'Eligibility pre-check'));
    const { l } = base;
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('条件自测', 'Eligibility pre-check')}</h1>
        <p>{l.t('回答几个问题，看看是否符合申请条件。每页几个问题，不保存任何信息。', 'Answer a few short pages of questions to see whether you qualify. Nothing is stored.')}</p>
        <ul className="links">
          {TYPE_CODES.map((code) => <li><a href={`/precheck/${code}`}>{l.b(ctx.policy.type(code)?.names)}</a></li>)}
        </ul>
      </Page>,
    );
  });

  const sectionsOf = (type: string): SectionSpec[] => {
    const sections = SECTIONS[type];
    if (!sections || !ctx.policy.type(type)) throw new AppError('not_found');
    return sections;
  };

  /** One page of questions: section `step`; for the children, one child at a time (`child`: that child's answers). */
  const stepPage = (req: Request, type: string, step: number, form: Form, errors?: FieldError[], child: Form = {}) => {
    const l = web.lang(req);
    const sections = sectionsOf(type);
    const s = sections[step]!;
    const names = ctx.policy.type(type)!.names;
    const base = web.base(req, `${l.b(s.title)} · ${l.t('条件自测', 'Pre-check')}`, errors);
    const kids = (form.children as Form[] | undefined) ?? [];
    const grounds = s.kind === 'ground' ? (serviceGuide(ctx.policy, type, ctx.clock.now(), l.code).conditions?.grounds ?? []) : [];
    return (
      <Page {...base}>
        {step === 0 ? <BackLink href="/precheck" l={l} /> : null}
        <span className="caption">{l.t('条件自测', 'Eligibility pre-check')}{l.colon}{l.b(names)} · {l.t(`第 ${step + 1} 步，共 ${sections.length} 步`, `Step ${step + 1} of ${sections.length}`)}</span>
        <form method="post" action={`/precheck/${type}`} novalidate>
          <CsrfField token={base.csrf()} />
          <input type="hidden" name="step" value={String(step)} />
          <HiddenAnswers sections={sections} form={form} asked={s} />
          {s.kind === 'children' ? (
            <Fragment>
              <h1>{l.b(s.title)}</h1>
              {kids.length ? (
                <SummaryList
                  rows={kids.map((c, i) => ({
                    key: l.t(`第 ${i + 1} 个子女`, `Child ${i + 1}`),
                    value: (
                      <Fragment>
                        {`${answerText(l, c, 'sex', 'radio', CHILD_FIELDS[1]!.options)}，${String(c.birthDate ?? '')}，${answerText(l, c, 'origin', 'select', CHILD_FIELDS.find((f) => f.name === 'origin')!.options)}`}
                        <button type="submit" className="link-button" name="remove" value={String(i)}>{l.t('删除', 'Remove')}<span className="visually-hidden"> {l.t(`第 ${i + 1} 个子女`, `child ${i + 1}`)}</span></button>
                      </Fragment>
                    ),
                  }))}
                />
              ) : null}
              <fieldset className="group">
                <legend>{l.t(`第 ${kids.length + 1} 个子女（没有可不填，直接继续）`, `Child ${kids.length + 1} (leave blank if none, and continue)`)}</legend>
                <Fields l={l} fields={CHILD_FIELDS} values={child} errors={errors} prefix="child." />
              </fieldset>
            </Fragment>
          ) : s.kind === 'ground' ? (
            <GroundField l={l} title={l.b(s.title)} grounds={grounds} value={form.ground} errors={errors} />
          ) : (
            <Fragment>
              <h1>{l.b(s.title)}</h1>
              <Fields l={l} fields={s.fields} values={form} errors={errors} />
            </Fragment>
          )}
          <div>
            <Button name="go" value="next">{step + 1 === sections.length ? l.t('查看结果', 'See the result') : l.t('继续', 'Continue')}</Button>
            {s.kind === 'children' ? <Button name="go" value="add" secondary>{l.t('保存并添加下一个子女', 'Save and add another child')}</Button> : null}
            {step > 0 ? <Button name="go" value="back" secondary>{l.t('上一步', 'Previous page')}</Button> : null}
          </div>
        </form>
      </Page>
    );
  };

  const resultPage = (req: Request, type: string, form: Form, result: EligibilityResult) => {
    const l = web.lang(req);
    const sections = sectionsOf(type);
    const spec = ctx.policy.type(type)!;
    const base = web.base(req, `${l.t('自测结果', 'Your result')} · ${l.b(spec.names)}`);
    const grounds = serviceGuide(ctx.policy, type, ctx.clock.now(), l.code).conditions?.grounds ?? [];
    const rows = (s: SectionSpec, i: number) => {
      const change = <button type="submit" className="link-button" name="goto" value={String(i)}>{l.t('修改', 'Change')}<span className="visually-hidden"> {l.b(s.title)}</span></button>;
      if (s.kind === 'children') {
        const kids = (form.children as Form[] | undefined) ?? [];
        return [{ key: l.b(s.title), value: <Fragment>{kids.length ? kids.map((c) => `${answerText(l, c, 'sex', 'radio', CHILD_FIELDS[1]!.options)} ${String(c.birthDate ?? '')}`).join(l.t('；', '; ')) : l.t('无', 'None')} {change}</Fragment> }];
      }
      if (s.kind === 'ground') return [{ key: l.b(s.title), value: <Fragment>{l.b(grounds.find((g) => g.id === form.ground)?.title) || '—'} {change}</Fragment> }];
      const answered = s.fields.filter((f) => getPath(form, f.name) !== undefined);
      return [{ key: l.b(s.title), value: <Fragment>{answered.map((f) => `${l.b(f.label)}${l.colon}${answerText(l, form, f.name, f.kind, f.options)}`).join(l.t('；', '; ')) || '—'} {change}</Fragment> }];
    };
    return (
      <Page {...base}>
        <span className="caption">{l.t('条件自测', 'Eligibility pre-check')}{l.colon}{l.b(spec.names)}</span>
        <section className={`verdict ${result.eligible ? 'verdict-valid' : 'verdict-invalid'}`} aria-labelledby="result-title">
          <h1 id="result-title">{result.eligible ? l.t('符合申请条件', 'You appear to qualify') : l.t('暂不符合申请条件', 'You do not appear to qualify')}</h1>
          {result.notice ? <p>{result.notice.message}</p> : null}
          <ul className="grounds">{result.grounds.map((g) => <li className={g.met ? 'met' : 'unmet'}>{g.met ? l.t('✓ 满足：', '✓ Met: ') : l.t('✗ 不满足：', '✗ Not met: ')}{g.title}{l.colon}{g.message}</li>)}</ul>
        </section>
        {result.eligible && result.requiredDocuments.length ? (
          <Fragment>
            <h2>{l.t('需要准备的材料', 'Documents to prepare')}</h2>
            <ul>{result.requiredDocuments.map((d) => <li>{l.b(d.name)}</li>)}</ul>
            <p><a className="button" href={`/apply/start/${type}`}>{l.t('在线申报', 'Apply online')}</a></p>
          </Fragment>
        ) : null}
        <p className="hint">{l.t('自测结果仅供参考，以乡镇审核为准。没有保存您填写的任何信息。', 'This result is a guide; the township’s review decides. Nothing you entered was stored.')}</p>
        <h2>{l.t('您的回答', 'Your answers')}</h2>
        <form method="post" action={`/precheck/${type}`} novalidate>
          <CsrfField token={base.csrf()} />
          <HiddenAnswers sections={sections} form={form} />
          <SummaryList rows={sections.flatMap(rows)} />
        </form>
        <p><a href={`/precheck/${type}`}>{l.t('重新自测', 'Start again')}</a></p>
      </Page>
    );
  };

  r.get('/precheck/:type', (req, res) => web.send(res, stepPage(req, String(req.params.type), 0, {})));

  r.post('/precheck/:type', precheckLimit, web.csrf, (req, res) => {
    const type = String(req.params.type);
    const sections = sectionsOf(type);
    const l = web.lang(req);
    const body = req.body as Record<string, unknown>;
    const form = readAnswers(sections, body);
    const labels = (f: string) => labelOf(l, sections, CHILD_FIELDS, f);
    const at = (v: unknown): number | undefined => (typeof v === 'string' && /^\d{1,2}$/.test(v) && Number(v) < sections.length ? Number(v) : undefined);

    // "Change" on the result page: back to that page, answers kept.
    const goto = at(body.goto);
    if (goto !== undefined) return web.send(res, stepPage(req, type, goto, form));
    const step = at(body.step) ?? 0;
    const s = sections[step]!;
    if (body.go === 'back') return web.send(res, stepPage(req, type, Math.max(0, step - 1), form));

    // This page's problems only, judged by the same evaluation as submission.
    const problemsOf = (answers: Form, mine: (path: string) => string | undefined) =>
      evaluateForPage(ctx, type, answers, l.code).errors
        .map((e) => ({ ...e, field: mine(e.path) }))
        .filter((e) => e.field !== undefined)
        .map((e) => ({ path: e.field!, code: e.code, messages: e.messages }));

    if (s.kind === 'children') {
      const kids = [...((form.children as Form[] | undefined) ?? [])];
      if (typeof body.remove === 'string' && /^\d{1,2}$/.test(body.remove)) {
        kids.splice(Number(body.remove), 1);
        return web.send(res, stepPage(req, type, step, { ...form, children: kids }));
      }
      const child = readFields(CHILD_FIELDS, body, 'child.');
      if (Object.keys(child).length) {
        if (kids.length >= MAX_CHILDREN) return web.send(res, stepPage(req, type, step, form, [{ field: 'child.sex', message: l.t(`最多填写 ${MAX_CHILDREN} 个子女`, `At most ${MAX_CHILDREN} children`) }], child), 400);
        kids.push(child);
        const prefix = `children.${kids.length - 1}`;
        const problems = problemsOf({ ...form, children: kids }, (p) => (p.startsWith(`${prefix}.`) ? `child.${p.slice(prefix.length + 1)}` : p === prefix ? 'child.sex' : undefined));
        if (problems.length) return web.send(res, stepPage(req, type, step, form, web.fieldErrors(req, problems, labels), child), 400);
        form.children = kids;
      }
      if (body.go === 'add') return web.send(res, stepPage(req, type, step, form));
    } else if (s.kind === 'ground') {
      if (form.ground === undefined) return web.send(res, stepPage(req, type, step, form, [{ field: 'ground', message: l.t('请选择申请理由', 'Choose a ground') }]), 400);
    } else {
      const required = !s.optional && !(s.root in form) ? [{ path: s.fields[0]!.name, code: 'required', messages: { zh: '', en: '' } }] : [];
      const problems = [...required, ...problemsOf(form, (p) => (inSection(s, p) ? p : undefined))];
      if (problems.length) return web.send(res, stepPage(req, type, step, form, web.fieldErrors(req, problems, labels)), 400);
    }
    if (step + 1 < sections.length) return web.send(res, stepPage(req, type, step + 1, form));

    // The end: the whole form judged as submission would judge it. A problem that spans pages
    // (a child born before the marriage, say) sends the person back to the first page it names.
    const { result, errors } = evaluateForPage(ctx, type, form, l.code);
    if (!result || errors.length) {
      const first = sections.findIndex((x) => errors.some((e) => inSection(x, e.path)));
      const back = first < 0 ? 0 : first;
      const mine = errors.filter((e) => inSection(sections[back]!, e.path));
      return web.send(res, stepPage(req, type, back, form, web.fieldErrors(req, mine.length ? mine : errors, labels)), 400);
    }
    web.send(res, resultPage(req, type, form, result));
  });

  return r;
}
