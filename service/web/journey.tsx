import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { ApplicationDoc } from '../applications/applications.model';
import { createApplication, formOf, listOwn, loadVisible, submit, toView, updateDraft, withdraw } from '../applications/applications.service';
import { isAllowed } from '../applications/workflow';
import { serviceGuide } from '../catalogue/catalogue.service';
import { getCertificate, listOwnCertificates } from '../certificates/certificates.service';
import { formatsOf } from '../certificates/pdf';
import { printableCertificate } from '../certificates/print';
import { fileComplaint, listForApplication } from '../complaints/complaints.service';
import { listDecisions } from '../decisions/decisions.service';
import { singleUpload } from '../documents/documents.routes';
import { acceptUpload, assertCanUpload, removeDocument } from '../documents/documents.service';
import { receivedUpload } from '../documents/storage';
import { evaluateApplication } from '../eligibility/eligibility.service';
import { principalOf } from '../lib/auth';
import { AppError, notFound, PROBLEMS, translate } from '../lib/errors';
import { decrypt, openName } from '../lib/personal';
import { limiter } from '../lib/ratelimit';
import { compile, toFieldProblems } from '../lib/validation';
import { ratingBody } from '../ratings/ratings.schemas';
import { LEVELS, rateApplication, ratingOf } from '../ratings/ratings.service';
import { answerText, evaluateForPage, Fields, GroundField, labelOf } from './fields';
import { CHILD_FIELDS, getPath, inSection, readFields, rootsOf, SECTIONS, type FieldSpec, type SectionSpec } from './forms';
import { Fragment, h, type SafeHtml } from './jsx';
import { checkCsrf } from './session';
import { BackLink, Button, CsrfField, dateTime, day, Page, RadioField, StatusTag, actionName, SummaryList, TextArea, WrittenDecisions, type FieldError, type Lang, type Web } from './ui';

/**
 * The application journey, GOV.UK style: a task list, one small group of questions per page,
 * documents, check your answers, confirmation. Residents use it under /apply, kiosks under
 * /kiosk/apply on a resident's behalf. Every step calls the same use case as the JSON route.
 */
export interface Mode {
  kind: 'resident' | 'kiosk';
  base: string;
  /** Signs the caller in or sends them to the start; sets req.principal. */
  guard: RequestHandler;
  /** Kiosk: only this visit's applications. Resident: `loadVisible` decides alone. */
  owns(req: Request, id: string): boolean;
}

const sectionsOf = (type: string): SectionSpec[] => SECTIONS[type] ?? [];


export function journeyPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const upload = singleUpload(ctx);
  const uploadLimit = limiter({ name: 'page-upload', windowMs: 15 * 60 * 1000, limit: 200, keyOf: (req) => req.principal?.id }, ctx.counterStores);
  const complaintLimit = limiter({ name: 'page-complaint', windowMs: 60 * 60 * 1000, limit: 20, keyOf: (req) => req.principal?.id }, ctx.counterStores);
  const validateRating = compile(ratingBody);

  const resident: Mode = {
    kind: 'resident',
    base: '/apply',
    guard: (req, res, next) => {
      const s = req.page?.session;
      if (!s || s.doc.kind !== 'resident') return res.redirect(303, `/sign-in?next=${encodeURIComponent(req.path)}`);
      req.principal = s.principal;
      next();
    },
    owns: () => true,
  };
  const kiosk: Mode = {
    kind: 'kiosk',
    base: '/kiosk/apply',
    guard: (req, res, next) => {
      const s = req.page?.session;
      if (!s || s.doc.kind !== 'kiosk') return res.redirect(303, '/kiosk');
      if (!s.doc.kioskResident?.consent) return res.redirect(303, req.page?.kioskReset ? '/kiosk/idle' : '/kiosk/start');
      req.principal = s.principal;
      next();
    },
    owns: (req, id) => Boolean(req.page?.session?.doc.kioskResident?.applications.includes(id)),
  };

  async function load(mode: Mode, req: Request): Promise<ApplicationDoc> {
    const id = String(req.params.id);
    if (!mode.owns(req, id)) throw notFound({ zh: '未找到该申请', en: 'Application not found' });
    return loadVisible(ctx, principalOf(req), id);
  }

  const labels = (l: Lang, type: string) => (f: string) => labelOf(l, sectionsOf(type), CHILD_FIELDS, f);

  function sectionState(form: Record<string, unknown>, s: SectionSpec, errors: { path: string }[]): 'done' | 'todo' | 'fix' {
    if (!(s.root in form)) return 'todo';
    return errors.some((e) => inSection(s, e.path)) ? 'fix' : 'done';
  }

  /* Start: a resident picks a type and gets a draft; a kiosk does it for the resident identified. */
  for (const mode of [resident, kiosk]) {
    r.get(`${mode.base}/start/:type`, mode.guard, (req, res) => {
      const l = web.lang(req);
      const type = ctx.policy.type(String(req.params.type));
      if (!type) throw new AppError('not_found');
      const base = web.base(req, l.b(type.names));
      web.send(
        res,
        <Page {...base}>
          <BackLink href={mode.kind === 'kiosk' ? '/kiosk/start' : `/guide/${type.code}`} l={l} />
          <span className="caption">{l.t('在线申报', 'Apply online')}</span>
          <h1>{l.b(type.names)}</h1>
          <p>{l.b(type.summary)}</p>
          <p>{l.t('您将依次填写几个简短的页面，然后上传材料、核对并提交。填写的内容会自动保存为草稿。', 'You will answer a few short pages, then add documents, check and submit. What you enter is saved as a draft.')}</p>
          <form method="post" action={`${mode.base}/start/${type.code}`}>
            <CsrfField token={base.csrf()} />
            <Button>{l.t('开始申请', 'Start now')}</Button>
          </form>
        </Page>,
      );
    });
    r.post(`${mode.base}/start/:type`, mode.guard, web.csrf, async (req, res) => {
      const p = principalOf(req);
      const l = web.lang(req);
      const type = String(req.params.type);
      const s = req.page!.session!;
      const kr = s.doc.kioskResident;
      const app = await createApplication(
        ctx,
        p,
        mode.kind === 'kiosk' && kr
          ? {
              type,
              form: {},
              resident: { idNumber: decrypt(ctx.keys.dataKey, kr.idNumberEnc), name: openName(ctx.keys.dataKey, { nameSealed: kr.nameSealed }) },
              operatorName: s.doc.operatorName ?? '',
              consent: { given: true, method: kr.consent!.method, ...(kr.consent!.reference ? { reference: kr.consent!.reference } : {}) },
            }
          : { type, form: {} },
        l.code,
      );
      if (mode.kind === 'kiosk' && kr) {
        await ctx.models.WebSession.updateOne({ _id: s.doc._id }, { $push: { 'kioskResident.applications': app._id.toString() } });
      }
      res.redirect(303, `${mode.base}/${app._id.toString()}`);
    });

    /* Task list. */
    r.get(`${mode.base}/:id`, mode.guard, async (req, res) => {
      const app = await load(mode, req);
      const l = web.lang(req);
      if (!isAllowed('edit', app.status)) return res.redirect(303, `${mode.base}/${app._id.toString()}/done`);
      const form = formOf(ctx, app);
      const result = evaluateApplication(ctx.policy, app.type, form, ctx.clock.now(), l.code);
      const spec = ctx.policy.type(app.type)!;
      const base = web.base(req, l.b(spec.names));
      const id = app._id.toString();
      const names: Record<string, [string, string]> = { done: ['已完成', 'Completed'], todo: ['未开始', 'Not started'], fix: ['需修改', 'Needs changes'] };
      const required = result.requiredDocuments;
      const present = new Set(app.documents.map((d) => d.kind));
      const docsState = required.length && required.every((d) => present.has(d.kind)) ? 'done' : app.documents.length ? 'fix' : 'todo';
      web.send(
        res,
        <Page {...base}>
          {mode.kind === 'resident' ? <BackLink href="/my" l={l} /> : null}
          <span className="caption">{app.status === 'returned' ? l.t('补正材料', 'Add what was asked for') : l.t('申请草稿', 'Draft application')}</span>
          <h1>{l.b(spec.names)}</h1>
          {app.status === 'returned' ? <MissingNotice l={l} app={app} names={ctx.policy.type(app.type)!.documents} /> : null}
          <ol className="tasks">
            {sectionsOf(app.type).map((s) => {
              const state = sectionState(form, s, result.errors);
              return (
                <li className="task">
                  <a href={`${mode.base}/${id}/section/${s.root}`}>{l.b(s.title)}</a>
                  <strong className={`tag tag-${state}`}>{l.t(...names[state]!)}</strong>
                </li>
              );
            })}
            <li className="task">
              <a href={`${mode.base}/${id}/documents`}>{l.t('上传材料', 'Documents')}</a>
              <strong className={`tag tag-${docsState}`}>{l.t(...names[docsState]!)}</strong>
            </li>
            <li className="task">
              <a href={`${mode.base}/${id}/check`}>{l.t('核对并提交', 'Check and submit')}</a>
            </li>
          </ol>
        </Page>,
      );
    });

    /* One section: a page of questions, or the children list, or the ground. */
    const sectionPage = (req: Request, app: ApplicationDoc, s: SectionSpec, values: Record<string, unknown>, errors?: FieldError[]) => {
      const l = web.lang(req);
      const base = web.base(req, l.b(s.title), errors);
      const id = app._id.toString();
      const action = `${mode.base}/${id}/section/${s.root}`;
      if (s.kind === 'children') {
        const kids = (values.children as Record<string, unknown>[] | undefined) ?? [];
        return (
          <Page {...base}>
            <BackLink href={`${mode.base}/${id}`} l={l} />
            <h1>{l.b(s.title)}</h1>
            {kids.length ? (
              <ul className="children">
                {kids.map((c, i) => (
                  <li>
                    <span>{l.t(`第 ${i + 1} 个子女`, `Child ${i + 1}`)}{l.colon}{c.name ? String(c.name) : ''} {c.sex === 'female' ? l.t('女', 'female') : l.t('男', 'male')}{l.t('，', ', ')}{String(c.birthDate ?? '')}</span>
                    <form method="post" action={action} className="inline">
                      <CsrfField token={base.csrf()} />
                      <input type="hidden" name="remove" value={String(i)} />
                      <button type="submit" className="link-button">{l.t('删除', 'Remove')}<span className="visually-hidden"> {l.t(`第 ${i + 1} 个子女`, `child ${i + 1}`)}</span></button>
                    </form>
                  </li>
                ))}
              </ul>
            ) : (
              <p>{l.t('还没有填写子女。没有子女的可直接继续。', 'No children added. If you have none, continue.')}</p>
            )}
            <form method="post" action={action} novalidate>
              <CsrfField token={base.csrf()} />
              <fieldset className="group">
                <legend>{l.t('添加一个子女', 'Add a child')}</legend>
                <Fields l={l} fields={CHILD_FIELDS} values={values.child ?? {}} errors={errors} prefix="child." />
              </fieldset>
              <Button name="add" value="1" secondary>{l.t('添加这个子女', 'Add this child')}</Button>
            </form>
            <form method="post" action={action}>
              <CsrfField token={base.csrf()} />
              <Button name="done" value="1">{l.t('子女已填完，继续', 'Done, continue')}</Button>
            </form>
          </Page>
        );
      }
      const grounds = s.kind === 'ground' ? (serviceGuide(ctx.policy, app.type, ctx.clock.now(), l.code).conditions?.grounds ?? []) : [];
      return (
        <Page {...base}>
          <BackLink href={`${mode.base}/${id}`} l={l} />
          <form method="post" action={action} novalidate>
            <CsrfField token={base.csrf()} />
            {s.kind === 'ground' ? (
              <GroundField l={l} title={l.b(s.title)} grounds={grounds} value={values.ground} errors={errors} />
            ) : (
              <Fragment>
                <h1>{l.b(s.title)}</h1>
                <Fields l={l} fields={s.fields} values={values} errors={errors} />
              </Fragment>
            )}
            <Button>{l.t('保存并继续', 'Save and continue')}</Button>
          </form>
        </Page>
      );
    };

    const findSection = (app: ApplicationDoc, root: string): SectionSpec => {
      const s = sectionsOf(app.type).find((x) => x.root === root);
      if (!s) throw new AppError('not_found');
      return s;
    };

    r.get(`${mode.base}/:id/section/:root`, mode.guard, async (req, res) => {
      const app = await load(mode, req);
      if (!isAllowed('edit', app.status)) return res.redirect(303, `${mode.base}/${app._id.toString()}/done`);
      web.send(res, sectionPage(req, app, findSection(app, String(req.params.root)), formOf(ctx, app)));
    });

    r.post(`${mode.base}/:id/section/:root`, mode.guard, web.csrf, async (req, res) => {
      const app = await load(mode, req);
      const p = principalOf(req);
      const l = web.lang(req);
      const s = findSection(app, String(req.params.root));
      const id = app._id.toString();
      const body = req.body as Record<string, unknown>;
      const form = formOf(ctx, app);
      const next = `${mode.base}/${id}`;
      let errorsOf: (path: string) => string | undefined = (path) => (inSection(s, path) ? path : undefined);
      let redisplay: Record<string, unknown> = form;

      if (s.kind === 'children') {
        const kids = [...((form.children as unknown[] | undefined) ?? [])];
        if (typeof body.remove === 'string' && /^\d{1,2}$/.test(body.remove)) {
          kids.splice(Number(body.remove), 1);
        } else if (body.add) {
          const child = readFields(CHILD_FIELDS, body, 'child.');
          kids.push(child);
          const at = `children.${kids.length - 1}.`;
          errorsOf = (path) => (path.startsWith(at) ? `child.${path.slice(at.length)}` : path === `children.${kids.length - 1}` ? 'child.sex' : undefined);
          redisplay = { ...form, child };
        }
        form.children = kids;
      } else if (s.kind === 'ground') {
        if (typeof body.ground === 'string' && body.ground) form.ground = body.ground;
        else delete form.ground;
        if (form.ground === undefined) {
          return web.send(res, sectionPage(req, app, s, form, [{ field: 'ground', message: l.t('请选择申请理由', 'Choose a ground') }]), 400);
        }
      } else {
        for (const root of rootsOf(s)) delete form[root];
        Object.assign(form, readFields(s.fields, body));
        redisplay = form;
      }

      // The form schema and the rules judge the page: the same evaluation as submission.
      const evaluated = evaluateForPage(ctx, app.type, form, l.code);
      const mine = evaluated.errors
        .map((e) => ({ ...e, field: errorsOf(e.path) }))
        .filter((e) => e.field !== undefined)
        .map((e) => ({ path: e.field!, code: e.code, messages: e.messages }));
      const required = s.kind === 'fields' && !s.optional && !(s.root in form) ? [{ path: s.fields[0]!.name, code: 'required', messages: { zh: '', en: '' } }] : [];
      const problems = [...required, ...mine];
      if (problems.length) {
        return web.send(res, sectionPage(req, app, s, redisplay, web.fieldErrors(req, problems, labels(l, app.type))), 400);
      }
      try {
        await updateDraft(ctx, p, id, form, l.code);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'validation_failed') throw err;
        return web.send(res, sectionPage(req, app, s, redisplay, web.fieldErrors(req, err.errors, labels(l, app.type))), 400);
      }
      res.redirect(303, s.kind === 'children' && !body.done ? `${mode.base}/${id}/section/children` : next);
    });

    /* Documents: what this application needs, upload (camera welcome), replace, remove. */
    const documentsPage = (req: Request, app: ApplicationDoc, errors?: FieldError[]) => {
      const l = web.lang(req);
      const base = web.base(req, l.t('上传材料', 'Documents'), errors);
      const spec = ctx.policy.type(app.type)!;
      const id = app._id.toString();
      const result = evaluateApplication(ctx.policy, app.type, formOf(ctx, app), ctx.clock.now(), l.code);
      const needed = new Set(result.requiredDocuments.map((d) => d.kind));
      const missing = new Set(app.missing ?? []);
      const uploadForm = (d: { kind: string; name: { zh: string; en: string } }) => (
        <form method="post" action={`${mode.base}/${id}/documents`} enctype="multipart/form-data" className="upload">
          <CsrfField token={base.csrf()} />
          <input type="hidden" name="kind" value={d.kind} />
          <label htmlFor={`file-${d.kind}`}>{l.t('选择文件或拍照', 'Choose a file or take a photo')}<span className="visually-hidden">{l.colon}{l.b(d.name)}</span></label>
          <input type="file" id={`file-${d.kind}`} name="file" accept="image/jpeg,image/png,application/pdf" capture="environment" />
          <Button secondary>{l.t('上传', 'Upload')}<span className="visually-hidden"> {l.b(d.name)}</span></Button>
        </form>
      );
      return (
        <Page {...base}>
          <BackLink href={`${mode.base}/${id}`} l={l} />
          <h1>{l.t('上传材料', 'Documents')}</h1>
          <p>{l.t('可以拍照上传（JPG、PNG）或上传 PDF，每个文件不超过 10 MB。', 'Take a photo (JPG, PNG) or upload a PDF, up to 10 MB each.')}</p>
          {app.status === 'returned' ? <MissingNotice l={l} app={app} names={ctx.policy.type(app.type)!.documents} /> : null}
          <ul className="documents">
            {spec.documents.map((d) => {
              const files = app.documents.filter((f) => f.kind === d.kind);
              const need = needed.has(d.kind) || missing.has(d.kind);
              return (
                <li className="document">
                  <h2 className="document-name">
                    {l.b(d.name)}{' '}
                    {files.length ? <strong className="tag tag-done">{l.t('已上传', 'Added')}</strong> : need ? <strong className="tag tag-fix">{l.t('需要', 'Needed')}</strong> : null}
                  </h2>
                  {d.condition ? <p className="hint">{l.b(d.condition)}</p> : d.required === 'ground' ? <p className="hint">{l.t('申请理由需要时提交', 'If your ground needs it')}</p> : null}
                  {files.map((f) => (
                    <form method="post" action={`${mode.base}/${id}/documents/${f.id}/remove`} className="file">
                      <CsrfField token={base.csrf()} />
                      <span>{f.fileName}{l.paren(`${Math.ceil(f.size / 1024)} KB`)}</span>
                      <button type="submit" className="link-button">{l.t('删除', 'Remove')}<span className="visually-hidden"> {f.fileName}</span></button>
                    </form>
                  ))}
                  {files.length && !missing.has(d.kind) ? (
                    <details>
                      <summary>{l.t('替换或再添加', 'Replace or add another')}<span className="visually-hidden">{l.colon}{l.b(d.name)}</span></summary>
                      {uploadForm(d)}
                    </details>
                  ) : (
                    uploadForm(d)
                  )}
                </li>
              );
            })}
          </ul>
          <p><a className="button" href={`${mode.base}/${id}/check`}>{l.t('继续', 'Continue')}</a></p>
        </Page>
      );
    };

    r.get(`${mode.base}/:id/documents`, mode.guard, async (req, res) => {
      const app = await load(mode, req);
      if (!isAllowed('upload', app.status)) return res.redirect(303, `${mode.base}/${app._id.toString()}/done`);
      web.send(res, documentsPage(req, app));
    });

    r.post(`${mode.base}/:id/documents`, mode.guard, uploadLimit, async (req: Request, res: Response) => {
      const p = principalOf(req);
      const id = String(req.params.id);
      if (!mode.owns(req, id)) throw notFound();
      if (!req.is('multipart/form-data')) throw new AppError('unsupported_media_type');
      const app = await assertCanUpload(ctx, p, id);
      const l = web.lang(req);
      try {
        await new Promise<void>((resolve, reject) => upload(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
      } catch (err) {
        const known = translate(err);
        if (!known) throw err;
        return web.send(res, documentsPage(req, app, [{ field: '', message: l.b(known.detail ?? PROBLEMS[known.code]) }]), known.status);
      }
      const staged = req.file ? receivedUpload(req.file) : undefined;
      try {
        checkCsrf(ctx, req, req.body?._csrf);
      } catch (err) {
        if (staged) await ctx.files.remove(staged.id);
        throw err;
      }
      const kind = typeof req.body?.kind === 'string' ? req.body.kind : '';
      if (!staged || staged.size === 0) {
        if (staged) await ctx.files.remove(staged.id);
        return web.send(res, documentsPage(req, app, [{ field: `file-${kind}`, message: l.t('请选择要上传的文件', 'Choose a file to upload') }]), 400);
      }
      try {
        await acceptUpload(ctx, p, id, kind, staged);
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        const message = err.errors?.length ? l.b(err.errors[0]!.messages) : l.b(err.detail ?? PROBLEMS[err.code]);
        return web.send(res, documentsPage(req, await load(mode, req), [{ field: `file-${kind}`, message }]), err.status);
      }
      res.redirect(303, `${mode.base}/${id}/documents`);
    });

    r.post(`${mode.base}/:id/documents/:docId/remove`, mode.guard, web.csrf, async (req, res) => {
      const app = await load(mode, req);
      await removeDocument(ctx, principalOf(req), app._id.toString(), String(req.params.docId));
      res.redirect(303, `${mode.base}/${app._id.toString()}/documents`);
    });

    /* Check your answers, then submit: the submission use case decides. */
    const checkPage = (req: Request, app: ApplicationDoc, errors?: FieldError[]) => {
      const l = web.lang(req);
      const base = web.base(req, l.t('核对申请内容', 'Check your answers'), errors);
      const id = app._id.toString();
      const form = formOf(ctx, app);
      const result = evaluateApplication(ctx.policy, app.type, form, ctx.clock.now(), l.code);
      const spec = ctx.policy.type(app.type)!;
      const grounds = serviceGuide(ctx.policy, app.type, ctx.clock.now(), l.code).conditions?.grounds ?? [];
      const shown = (name: string, kind: string, options?: FieldSpec['options']) => answerText(l, form, name, kind, options);
      return (
        <Page {...base}>
          <BackLink href={`${mode.base}/${id}`} l={l} />
          <h1>{l.t('核对申请内容', 'Check your answers')}</h1>
          <p className="caption">{l.b(spec.names)}</p>
          {result.notice ? <p className="notice">{result.notice.message}</p> : null}
          {sectionsOf(app.type).map((s) => (
            <Fragment>
              <h2>{l.b(s.title)}</h2>
              {s.kind === 'children' ? (
                <SummaryList
                  rows={((form.children as Record<string, unknown>[] | undefined) ?? []).map((c, i) => ({
                    key: l.t(`第 ${i + 1} 个子女`, `Child ${i + 1}`),
                    value: `${c.sex === 'female' ? l.t('女', 'Female') : l.t('男', 'Male')}，${String(c.birthDate ?? '')}，${shown(`children.${i}.origin`, 'select', CHILD_FIELDS.find((f) => f.name === 'origin')!.options)}${c.alive === false ? l.t('，已故', ', died') : ''}`,
                    action: { href: `${mode.base}/${id}/section/children`, label: l.t('修改', 'Change') },
                  })).concat(form.children === undefined || (form.children as unknown[]).length === 0 ? [{ key: l.t('子女', 'Children'), value: l.t('无', 'None'), action: { href: `${mode.base}/${id}/section/children`, label: l.t('修改', 'Change') } }] : [])}
                />
              ) : s.kind === 'ground' ? (
                <SummaryList rows={[{ key: l.b(s.title), value: l.b(grounds.find((g) => g.id === form.ground)?.title) || String(form.ground ?? ''), action: { href: `${mode.base}/${id}/section/ground`, label: l.t('修改', 'Change') } }]} />
              ) : (
                <SummaryList
                  rows={s.fields
                    .filter((f) => getPath(form, f.name) !== undefined && (f.kind !== 'checkbox' || getPath(form, f.name) === true))
                    .map((f) => ({ key: l.b(f.label), value: shown(f.name, f.kind, f.options), action: { href: `${mode.base}/${id}/section/${s.root}#f-${f.name.replace(/[^A-Za-z0-9_-]/g, '-')}`, label: l.t('修改', 'Change') } }))}
                />
              )}
            </Fragment>
          ))}
          <h2>{l.t('材料', 'Documents')}</h2>
          <SummaryList
            rows={(app.documents.length ? app.documents : []).map((d) => ({
              key: l.b(spec.documents.find((x) => x.kind === d.kind)?.name) || d.kind,
              value: d.fileName,
              action: { href: `${mode.base}/${id}/documents`, label: l.t('修改', 'Change') },
            })).concat(app.documents.length ? [] : [{ key: l.t('材料', 'Documents'), value: l.t('尚未上传', 'None yet'), action: { href: `${mode.base}/${id}/documents`, label: l.t('上传', 'Add') } }])}
          />
          {result.errors.length === 0 ? (
            <Fragment>
              <h2>{l.t('条件审查（预审）', 'Eligibility (pre-check)')}</h2>
              <ul className="grounds">{result.grounds.filter((g) => g.kind === 'requirement' || g.met || g.id === form.ground).map((g) => <li className={g.met ? 'met' : 'unmet'}>{g.met ? '✓ ' : '✗ '}{g.title}{l.colon}{g.message}</li>)}</ul>
            </Fragment>
          ) : null}
          <h2>{l.t('提交申请', 'Submit your application')}</h2>
          <p>{l.t('提交即表示您确认所填内容真实。提交后由乡镇（街道）审核，结果会通过短信通知。', 'By submitting you confirm that what you entered is true. The township reviews it and you will get a text message.')}</p>
          <form method="post" action={`${mode.base}/${id}/submit`}>
            <CsrfField token={base.csrf()} />
            <Button>{app.status === 'returned' ? l.t('重新提交', 'Resubmit') : l.t('确认并提交', 'Accept and submit')}</Button>
          </form>
        </Page>
      );
    };

    r.get(`${mode.base}/:id/check`, mode.guard, async (req, res) => {
      const app = await load(mode, req);
      if (!isAllowed('edit', app.status)) return res.redirect(303, `${mode.base}/${app._id.toString()}/done`);
      web.send(res, checkPage(req, app));
    });

    r.post(`${mode.base}/:id/submit`, mode.guard, web.csrf, async (req, res) => {
      const app = await load(mode, req);
      const id = app._id.toString();
      const l = web.lang(req);
      try {
        await submit(ctx, principalOf(req), id, l.code);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (err.code === 'conflict') {
          // A double click: the first submission won; show its confirmation.
          const now = await load(mode, req);
          if (!isAllowed('edit', now.status)) return res.redirect(303, `${mode.base}/${id}/done`);
          throw err;
        }
        if (!['unprocessable', 'not_eligible', 'missing_documents'].includes(err.code)) throw err;
        const errors: FieldError[] = [{ field: '', message: l.b(err.detail ?? PROBLEMS[err.code]) }];
        const eligibility = err.extra?.eligibility as { grounds?: { met: boolean; kind: string; message: string }[] } | undefined;
        for (const g of eligibility?.grounds ?? []) if (!g.met && g.kind === 'requirement') errors.push({ field: '', message: g.message });
        for (const e of err.errors ?? []) errors.push(...web.fieldErrors(req, [e], labels(l, app.type)).map((x) => ({ field: '', message: x.message })));
        return web.send(res, checkPage(req, app, errors), err.status);
      }
      res.redirect(303, `${mode.base}/${id}/done`);
    });

    /* Confirmation (resident) or printable receipt (kiosk). */
    r.get(`${mode.base}/:id/done`, mode.guard, async (req, res) => {
      const app = await load(mode, req);
      const l = web.lang(req);
      const id = app._id.toString();
      if (isAllowed('edit', app.status)) return res.redirect(303, `${mode.base}/${id}`);
      const view = toView(ctx, app, principalOf(req));
      const spec = ctx.policy.type(app.type)!;
      const base = web.base(req, mode.kind === 'kiosk' ? l.t('受理回执', 'Receipt') : l.t('申请已提交', 'Application submitted'));
      web.send(
        res,
        <Page {...base}>
          <div className="confirmation">
            <h1>{mode.kind === 'kiosk' ? l.t('受理回执', 'Receipt') : l.t('申请已提交', 'Application submitted')}</h1>
            <p>{l.t('受理编号', 'Your application number')}</p>
            <p className="reference">{view.number ?? ''}</p>
            {view.accessCode ? (
              <Fragment>
                <p>{l.t('查询码', 'Access code')}</p>
                <p className="reference access-code">{view.accessCode}</p>
              </Fragment>
            ) : null}
          </div>
          <SummaryList
            rows={[
              { key: l.t('事项', 'Service'), value: l.b(spec.names) },
              { key: l.t('申请人', 'Applicant'), value: view.resident.name },
              { key: l.t('状态', 'Status'), value: <StatusTag l={l} status={view.status} /> },
              { key: l.t('提交日期', 'Submitted'), value: day(view.submittedAt) },
              ...(view.stage?.committedDeadline ? [{ key: l.t('本环节承诺办结日期', 'Promised by (this stage)'), value: day(view.stage.committedDeadline) }] : []),
              ...(mode.kind === 'kiosk' && view.terminal ? [{ key: l.t('代办人员', 'Filed by'), value: `${view.terminal.operatorName}（${view.terminal.terminalId}）` }] : []),
            ]}
          />
          <h2>{l.t('如何查询进度', 'How to follow your case')}</h2>
          <p>{l.t('审核结果会发短信通知。也可以在“办件查询”页面，用受理编号加查询码（或申请人身份证号码）查询：', 'You will get a text message. You can also look it up on the case query page with the number and the access code (or the applicant’s ID number):')} <strong>{`${ctx.config.publicBaseUrl}/query`}</strong></p>
          {mode.kind === 'kiosk' ? (
            <Fragment>
              <p className="no-print"><button type="button" className="button" data-print="1" hidden>{l.t('打印回执', 'Print the receipt')}</button></p>
              <noscript><p className="no-print">{l.t('请用浏览器的“打印”功能打印本页（Ctrl+P）。', 'Print this page with the browser’s Print command (Ctrl+P).')}</p></noscript>
              <form method="post" action="/kiosk/finish" className="no-print">
                <CsrfField token={base.csrf()} />
                <Button secondary>{l.t('办理完毕，接待下一位', 'Finished: next resident')}</Button>
              </form>
            </Fragment>
          ) : (
            <p><a href={`/my/${id}`}>{l.t('查看办件详情', 'See your case')}</a></p>
          )}
        </Page>,
      );
    });
  }

  /* My cases, with the history as a timeline. */
  r.get('/my', resident.guard, async (req, res) => {
    const l = web.lang(req);
    const p = principalOf(req);
    const items = await listOwn(ctx, p, { limit: 50 });
    const base = web.base(req, l.t('我的办件', 'My cases'));
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('我的办件', 'My cases')}</h1>
        <p><a className="button" href="/">{l.t('申请新的证件', 'Apply for a certificate')}</a></p>
        {items.length ? (
          <table className="cases">
            <caption className="visually-hidden">{l.t('我的办件', 'My cases')}</caption>
            <thead><tr><th scope="col">{l.t('事项', 'Service')}</th><th scope="col">{l.t('受理编号', 'Number')}</th><th scope="col">{l.t('状态', 'Status')}</th><th scope="col">{l.t('更新', 'Updated')}</th></tr></thead>
            <tbody>
              {items.map((a) => (
                <tr>
                  <td><a href={`/my/${a._id.toString()}`}>{l.b(ctx.policy.type(a.type)?.names)}</a>{a.channel === 'terminal' ? <small className="hint">{l.paren(l.t('终端代办', 'filed at a terminal'))}</small> : null}</td>
                  <td>{a.number ?? '—'}</td>
                  <td><StatusTag l={l} status={a.status} /></td>
                  <td>{day(a.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p>{l.t('您还没有办件。', 'You have no cases yet.')}</p>
        )}
        <p className="hint">{l.t('在便民服务终端为您代办的申请，提交后也列在这里。', 'Applications a service terminal filed for you are listed here too, once submitted.')}</p>
      </Page>,
    );
  });

  r.get('/my/certificates', resident.guard, async (req, res) => {
    const l = web.lang(req);
    const certs = await listOwnCertificates(ctx, principalOf(req));
    const base = web.base(req, l.t('我的证照', 'My certificates'));
    web.send(
      res,
      <Page {...base}>
        <h1>{l.t('我的证照', 'My certificates')}</h1>
        {certs.length ? (
          <ul className="cards">
            {certs.map((c) => (
              <li className="card">
                <h2>{l.b(ctx.policy.type(c.type)?.names)}</h2>
                <SummaryList rows={[{ key: l.t('证件编号', 'Serial'), value: c.serial }, { key: l.t('状态', 'Status'), value: c.status === 'revoked' ? l.t('已注销', 'Revoked') : l.t('有效', 'Valid') }, { key: l.t('发证日期', 'Issued'), value: day(c.issuedAt) }, { key: l.t('有效期至', 'Valid until'), value: c.validUntil ? day(c.validUntil) : l.t('长期有效', 'No expiry') }]} />
                <p><a href={`/my/certificates/${c.serial}/print`}>{l.t('查看和打印', 'View and print')}<span className="visually-hidden"> {c.serial}</span></a></p>
                <p><a href={`/my/certificates/${c.serial}/certificate.pdf`} download>{l.t('下载 PDF（带数字签名）', 'Download the signed PDF')}<span className="visually-hidden"> {c.serial}</span></a></p>
                {formatsOf(ctx, c.type).includes('booklet') ? <p><a href={`/my/certificates/${c.serial}/certificate.pdf?format=booklet`} download>{l.t('下载小册子版 PDF（打印后对折）', 'Download the booklet edition (print, then fold once)')}<span className="visually-hidden"> {c.serial}</span></a></p> : null}
              </li>
            ))}
          </ul>
        ) : (
          <p>{l.t('还没有证照。申请批准后，电子证照会出现在这里。', 'No certificates yet. An approved application’s certificate appears here.')}</p>
        )}
      </Page>,
    );
  });

  r.get('/my/certificates/:serial/print', resident.guard, async (req, res) => {
    const cert = await getCertificate(ctx, principalOf(req), String(req.params.serial));
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(await printableCertificate(ctx, cert));
  });

  const casePage = async (req: Request, app: ApplicationDoc, errors?: FieldError[], complaintText?: string) => {
    const l = web.lang(req);
    const p = principalOf(req);
    const view = toView(ctx, app, p);
    const spec = ctx.policy.type(app.type)!;
    const id = app._id.toString();
    const base = web.base(req, l.b(spec.names), errors);
    const complaints = app.status === 'draft' ? [] : await listForApplication(ctx, p, id);
    const decisions = app.status === 'draft' ? [] : await listDecisions(ctx, p, id);
    const rating = isAllowed('rate', app.status) ? await ratingOrNone(req, id) : undefined;
    return (
      <Page {...base}>
        <BackLink href="/my" l={l} />
        <span className="caption">{view.number ?? l.t('草稿', 'Draft')}</span>
        <h1>{l.b(spec.names)}</h1>
        <SummaryList
          rows={[
            { key: l.t('状态', 'Status'), value: <StatusTag l={l} status={view.status} /> },
            ...(view.stage && !['approved', 'rejected', 'withdrawn', 'draft'].includes(view.status) ? [{ key: l.t('当前环节', 'Current stage'), value: l.b(view.stage.name) }, { key: l.t('承诺办结日期', 'Promised by'), value: day(view.stage.committedDeadline) }] : []),
            ...(view.decision?.reason ? [{ key: l.t('审核意见', 'Reason given'), value: view.decision.reason }] : []),
            ...(view.certificateSerial ? [{ key: l.t('证件编号', 'Certificate'), value: <a href={`/my/certificates/${view.certificateSerial}/print`}>{view.certificateSerial}</a> }] : []),
          ]}
        />
        {app.status === 'returned' ? (
          <Fragment>
            <MissingNotice l={l} app={app} names={ctx.policy.type(app.type)!.documents} />
            <p><a className="button" href={`/apply/${id}/documents`}>{l.t('补充材料', 'Add the documents')}</a></p>
          </Fragment>
        ) : null}
        {app.status === 'draft' ? <p><a className="button" href={`/apply/${id}`}>{l.t('继续填写', 'Continue your application')}</a></p> : null}
        {decisions.length ? <WrittenDecisions l={l} decisions={decisions} href={(d) => `/my/${id}/decisions/${d._id}`} /> : null}
        <h2>{l.t('办理进度', 'Timeline')}</h2>
        <ol className="timeline">
          {app.history.map((e) => (
            <li>
              <time datetime={new Date(e.at).toISOString()}>{dateTime(e.at)}</time>
              <strong>{actionName(l, e.action)}</strong>
              {e.reason && (e.action === 'upload' || e.action === 'remove-document') ? <p>{l.b(spec.documents.find((d) => d.kind === e.reason)?.name) || e.reason}</p> : e.reason ? <p>{e.reason}</p> : null}
              {e.missing?.length ? <p>{l.t('需补正', 'To add')}{l.colon}{e.missing.map((k) => l.b(spec.documents.find((d) => d.kind === k)?.name) || k).join(l.t('、', ', '))}</p> : null}
            </li>
          ))}
        </ol>
        {complaints.length ? (
          <Fragment>
            <h2>{l.t('投诉与答复', 'Complaints and answers')}</h2>
            <ul>{complaints.map((c) => <li><p>{c.text}</p>{c.answer ? <p className="answer">{l.t('答复', 'Answer')}{l.colon}{c.answer.text}</p> : <p className="hint">{l.t(`待答复（${c.responseDeadline} 前）`, `Awaiting an answer (by ${c.responseDeadline})`)}</p>}</li>)}</ul>
          </Fragment>
        ) : null}
        {isAllowed('rate', app.status) ? (
          <Fragment>
            <h2>{l.t('评价（好差评）', 'Rate this service')}</h2>
            {rating ? (
              <Fragment>
                <p>{l.t('您的评价', 'Your rating')}{l.colon}<strong>{l.b(LEVELS[rating.score - 1])}</strong>{rating.comment ? <Fragment>{l.colon}{rating.comment}</Fragment> : null}</p>
                {rating.followUp?.outcome ? <p className="answer">{l.t('回访整改', 'Follow-up')}{l.colon}{rating.followUp.outcome}</p> : null}
              </Fragment>
            ) : (
              <p><a className="button secondary" href={`/my/${id}/rating`}>{l.t('评价办理服务', 'Rate how this case was handled')}</a></p>
            )}
          </Fragment>
        ) : null}
        {isAllowed('complain', app.status) ? (
          <form method="post" action={`/my/${id}/complaint`} novalidate>
            <h2>{l.t('投诉', 'Complain')}</h2>
            <CsrfField token={base.csrf()} />
            <TextArea name="text" label={l.t('投诉或意见', 'Complaint or comment')} hint={l.t('县卫生健康局会在 5 个工作日内答复', 'The county health commission answers within 5 working days')} value={complaintText} errors={errors} maxlength={2000} />
            <Button secondary>{l.t('提交投诉', 'Send complaint')}</Button>
          </form>
        ) : null}
        {isAllowed('withdraw', app.status) ? (
          <p><a href={`/my/${id}/withdraw`}>{l.t('撤回申请', 'Withdraw this application')}</a></p>
        ) : null}
      </Page>
    );
  };

  r.get('/my/:id', resident.guard, async (req, res) => {
    web.send(res, await casePage(req, await load(resident, req)));
  });

  r.post('/my/:id/complaint', resident.guard, web.csrf, complaintLimit, async (req, res) => {
    const app = await load(resident, req);
    const l = web.lang(req);
    const text = String(req.body.text ?? '').trim();
    if (text.length < 2 || text.length > 2000) {
      return web.send(res, await casePage(req, app, [{ field: 'text', message: l.t('请填写投诉内容（2–2000 字）', 'Write your complaint (2–2000 characters)') }], text), 400);
    }
    try {
      await fileComplaint(ctx, principalOf(req), app._id.toString(), text);
    } catch (err) {
      // The service's own refusals (too many complaints on one case, a draft) on the field, in this language.
      if (!(err instanceof AppError) || !['rate_limited', 'conflict'].includes(err.code)) throw err;
      return web.send(res, await casePage(req, app, [{ field: 'text', message: l.b(err.detail ?? PROBLEMS[err.code]) }], text), err.status);
    }
    res.redirect(303, `/my/${app._id.toString()}`);
  });

  /* 好差评: one rating per ended case, on the ratings use case and the API's body rules. */
  const ratingOrNone = async (req: Request, id: string) => {
    try {
      return await ratingOf(ctx, principalOf(req), id);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return undefined;
      throw err;
    }
  };
  const ratingPage = (req: Request, app: ApplicationDoc, values: { score?: string; comment?: string }, errors?: FieldError[]) => {
    const l = web.lang(req);
    const id = app._id.toString();
    const base = web.base(req, l.t('评价办理服务', 'Rate this service'), errors);
    const spec = ctx.policy.type(app.type)!;
    return (
      <Page {...base}>
        <BackLink href={`/my/${id}`} l={l} />
        <span className="caption">{app.number ?? ''} · {l.b(spec.names)}</span>
        <h1>{l.t('您对这次办理满意吗？', 'How satisfied are you with how this case was handled?')}</h1>
        <p>{l.t('每件只能评价一次。“不满意”和“非常不满意”会由乡镇回访整改。', 'A case is rated once. A "dissatisfied" or "very dissatisfied" rating is followed up by the township.')}</p>
        <form method="post" action={`/my/${id}/rating`} novalidate>
          <CsrfField token={base.csrf()} />
          <RadioField name="score" label={l.t('满意程度', 'Satisfaction')} value={values.score ?? ''} errors={errors} options={LEVELS.map((level, i) => ({ value: String(i + 1), label: l.b(level) })).reverse()} />
          <TextArea name="comment" label={l.t('意见或建议（选填）', 'Comments (optional)')} value={values.comment} errors={errors} maxlength={500} />
          <Button>{l.t('提交评价', 'Send rating')}</Button>
        </form>
      </Page>
    );
  };
  r.get('/my/:id/rating', resident.guard, async (req, res) => {
    const app = await load(resident, req);
    if (!isAllowed('rate', app.status) || (await ratingOrNone(req, app._id.toString()))) return res.redirect(303, `/my/${app._id.toString()}`);
    web.send(res, ratingPage(req, app, {}));
  });
  r.post('/my/:id/rating', resident.guard, web.csrf, complaintLimit, async (req, res) => {
    const app = await load(resident, req);
    const l = web.lang(req);
    const values = { score: String(req.body.score ?? '').trim(), comment: String(req.body.comment ?? '').trim() };
    const input = { score: /^\d$/.test(values.score) ? Number(values.score) : values.score, ...(values.comment ? { comment: values.comment } : {}) };
    const labels = (f: string) => (f === 'score' ? l.t('满意程度', 'Satisfaction') : f === 'comment' ? l.t('意见或建议', 'Comments') : undefined);
    if (!values.score) return web.send(res, ratingPage(req, app, values, [{ field: 'score', message: l.t('请选择满意程度', 'Choose how satisfied you are') }]), 400);
    if (!validateRating(input)) return web.send(res, ratingPage(req, app, values, web.fieldErrors(req, toFieldProblems(validateRating.errors), labels)), 400);
    try {
      await rateApplication(ctx, principalOf(req), app._id.toString(), input as { score: number; comment?: string });
    } catch (err) {
      if (!(err instanceof AppError) || !['conflict', 'already_exists'].includes(err.code)) throw err;
      return web.send(res, ratingPage(req, app, values, [{ field: 'score', message: l.b(err.detail ?? PROBLEMS[err.code]) }]), err.status);
    }
    res.redirect(303, `/my/${app._id.toString()}`);
  });

  r.get('/my/:id/withdraw', resident.guard, async (req, res) => {
    const app = await load(resident, req);
    const l = web.lang(req);
    const base = web.base(req, l.t('撤回申请', 'Withdraw'));
    web.send(
      res,
      <Page {...base}>
        <BackLink href={`/my/${app._id.toString()}`} l={l} />
        <h1>{l.t('确定要撤回这份申请吗？', 'Are you sure you want to withdraw this application?')}</h1>
        <p>{l.t('撤回后不能恢复，如需办理须重新申请。', 'This cannot be undone; you would have to apply again.')}</p>
        <form method="post" action={`/my/${app._id.toString()}/withdraw`} novalidate>
          <CsrfField token={base.csrf()} />
          <TextArea name="reason" label={l.t('撤回原因（选填）', 'Reason (optional)')} maxlength={500} />
          <Button>{l.t('撤回申请', 'Withdraw application')}</Button>
        </form>
      </Page>,
    );
  });

  r.post('/my/:id/withdraw', resident.guard, web.csrf, async (req, res) => {
    const app = await load(resident, req);
    const reason = String(req.body.reason ?? '').trim().slice(0, 500);
    await withdraw(ctx, principalOf(req), app._id.toString(), reason || undefined);
    res.redirect(303, `/my/${app._id.toString()}`);
  });

  return r;
}

/** What a returned case lacks, named as the catalogue names the document kinds. */
function MissingNotice({ l, app, names }: { l: Lang; app: ApplicationDoc; names: { kind: string; name: { zh: string; en: string } }[] }): SafeHtml {
  return (
    <div className="notice" role="status">
      <h2>{l.t('申请被退回，请补充以下材料', 'Your application was returned: add these documents')}</h2>
      <ul>{(app.missing ?? []).map((k) => <li>{l.b(names.find((d) => d.kind === k)?.name) || k}</li>)}</ul>
      {app.decision?.reason ? <p>{l.t('审核意见', 'Reason')}{l.colon}{app.decision.reason}</p> : null}
    </div>
  );
}
