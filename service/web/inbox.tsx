import express, { type Request, type Router } from 'express';
import { responseBody } from '../complaints/complaints.routes';
import { answerComplaint, complaintView, getComplaint, listComplaints, listForApplication } from '../complaints/complaints.service';
import { compile, toFieldProblems } from '../lib/validation';
import { CURSOR_PATTERN } from '../lib/worklist';
import { followUpBody } from '../ratings/ratings.schemas';
import { listFollowUps, ratingView, recordFollowUp } from '../ratings/ratings.service';
import { Fragment, h } from './jsx';
import { staff } from './staff';
import { BackLink, Button, CsrfField, Page, SummaryList, TextArea, dateTime, type FieldError, type Lang } from './ui';
import type { Web } from './ui';

const LIST_SIZE = 100;

type ComplaintView = ReturnType<typeof complaintView>;

/** The history's page cursor from the query (`before`, the `next` of the previous page), when well-formed. */
const cursor = new RegExp(CURSOR_PATTERN);
const beforeOf = (req: Request): string | undefined => (typeof req.query.before === 'string' && cursor.test(req.query.before) ? req.query.before : undefined);
type RatingView = ReturnType<typeof ratingView>;

/**
 * The complaints inbox and the follow-ups of bad ratings (差评回访): the complaint and rating use
 * cases the API calls, in the officer's jurisdiction, earliest deadline first, with the answer and
 * follow-up forms and what was answered before.
 */
export function inboxPages(web: Web): Router {
  const { ctx } = web;
  const r = express.Router();
  const validateAnswer = compile(responseBody);
  const validateOutcome = compile(followUpBody);

  const Tabs = ({ l, here }: { l: Lang; here: string }) => (
    <nav aria-label={l.t('投诉与回访', 'Complaints and follow-ups')}>
      <ul className="legend">
        {[
          ['/officer/complaints', l.t('待答复投诉', 'Complaints to answer')],
          ['/officer/complaints?status=answered', l.t('已答复投诉', 'Answered complaints')],
          ['/officer/follow-ups', l.t('待回访差评', 'Bad ratings to follow up')],
          ['/officer/follow-ups?status=done', l.t('已回访', 'Followed up')],
        ].map(([href, label]) => (
          <li>{href === here ? <strong aria-current="page">{label}</strong> : <a href={href}>{label}</a>}</li>
        ))}
      </ul>
    </nav>
  );

  const Deadline = ({ l, deadline, overdue }: { l: Lang; deadline: string; overdue: boolean }) => (
    <Fragment>
      {deadline}
      {overdue ? <strong className="tag tag-rejected">{l.t('已超期', 'Overdue')}</strong> : null}
    </Fragment>
  );

  r.get('/officer/complaints', staff, async (req, res) => {
    const l = web.lang(req);
    const p = req.principal!;
    const status = req.query.status === 'answered' ? 'answered' : 'open';
    const page = await listComplaints(ctx, p, { status, limit: LIST_SIZE, before: beforeOf(req) });
    const items = page.items.map((c) => complaintView(ctx, c, p));
    const title = status === 'open' ? l.t('待答复投诉', 'Complaints to answer') : l.t('已答复投诉', 'Answered complaints');
    const base = web.base(req, title);
    web.send(
      res,
      <Page {...base}>
        <h1>{title}</h1>
        <Tabs l={l} here={status === 'open' ? '/officer/complaints' : '/officer/complaints?status=answered'} />
        <p className="hint">{l.t('投诉应在 5 个工作日内答复；答复通知投诉人，并记入办件记录。', 'A complaint is answered within 5 working days; the answer goes to the person who complained and into the case history.')}</p>
        {items.length === 0 ? (
          <p>{l.t('没有投诉。', 'No complaints.')}</p>
        ) : (
          <table className="cases">
            <thead>
              <tr>
                <th scope="col">{l.t('办件编号', 'Case number')}</th>
                <th scope="col">{l.t('投诉内容', 'Complaint')}</th>
                <th scope="col">{l.t('收到', 'Received')}</th>
                <th scope="col">{status === 'open' ? l.t('答复期限', 'Answer by') : l.t('答复', 'Answer')}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr>
                  <td className="case-number"><a href={`/officer/complaints/${c.id}`}>{c.applicationNumber ?? c.applicationId}</a></td>
                  <td>{c.text}</td>
                  <td>{dateTime(c.createdAt)}</td>
                  <td>
                    {status === 'open' ? (
                      <Deadline l={l} deadline={c.responseDeadline} overdue={c.overdue} />
                    ) : (
                      <Fragment>
                        {c.answer?.text}
                        <span className="caption">{c.answer ? `${'name' in c.answer.by ? c.answer.by.name : ''} · ${dateTime(c.answer.at)}` : ''}{c.answeredOnTime === false ? l.t('（超期答复）', ' (answered late)') : ''}</span>
                      </Fragment>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page.next ? <p><a href={`/officer/complaints?status=answered&before=${page.next}`}>{l.t('更早的投诉', 'Older complaints')}</a></p> : null}
      </Page>,
    );
  });

  /** One complaint, the answer form while it is open, and every complaint about the same case (the history). */
  const complaintPage = async (req: Request, id: string, errors?: FieldError[], text?: string) => {
    const l = web.lang(req);
    const p = req.principal!;
    const c: ComplaintView = complaintView(ctx, await getComplaint(ctx, p, id), p);
    const history = (await listForApplication(ctx, p, c.applicationId)).map((x) => complaintView(ctx, x, p));
    const base = web.base(req, l.t('投诉', 'Complaint'), errors);
    return (
      <Page {...base}>
        <BackLink href="/officer/complaints" l={l} />
        <h1>{l.t('投诉', 'Complaint')} · {c.applicationNumber ?? ''}</h1>
        <SummaryList
          rows={[
            { key: l.t('办件', 'Case'), value: <a href={`/officer/cases/${c.applicationId}`}>{c.applicationNumber ?? c.applicationId}</a> },
            { key: l.t('投诉内容', 'Complaint'), value: c.text },
            { key: l.t('收到', 'Received'), value: dateTime(c.createdAt) },
            { key: l.t('答复期限', 'Answer by'), value: <Deadline l={l} deadline={c.responseDeadline} overdue={c.overdue} /> },
            { key: l.t('状态', 'Status'), value: c.status === 'open' ? l.t('待答复', 'Waiting for an answer') : l.t('已答复', 'Answered') },
          ]}
        />
        {c.status === 'open' ? (
          <form method="post" action={`/officer/complaints/${c.id}/answer`} novalidate>
            <CsrfField token={base.csrf()} />
            <TextArea name="text" label={l.t('答复（投诉人将看到此内容）', 'Answer (the person who complained reads this)')} value={text} errors={errors} maxlength={2000} />
            <Button>{l.t('提交答复', 'Send the answer')}</Button>
          </form>
        ) : null}
        <h2>{l.t('该办件的投诉记录', 'Complaints about this case')}</h2>
        <ol className="timeline">
          {history.map((x) => (
            <li>
              <time>{dateTime(x.createdAt)}</time>
              <p>{x.text}</p>
              {x.answer ? (
                <p>{l.t('答复', 'Answer')}{l.colon}{x.answer.text}<span className="caption">{'name' in x.answer.by ? x.answer.by.name : ''} · {dateTime(x.answer.at)}</span></p>
              ) : (
                <p className="caption">{l.t(`待答复，期限 ${x.responseDeadline}`, `Waiting for an answer, by ${x.responseDeadline}`)}</p>
              )}
            </li>
          ))}
        </ol>
      </Page>
    );
  };

  r.get('/officer/complaints/:id', staff, async (req, res) => web.send(res, await complaintPage(req, String(req.params.id))));
  r.post('/officer/complaints/:id/answer', staff, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const id = String(req.params.id);
    const text = typeof req.body.text === 'string' ? req.body.text.trim() : '';
    const input = { text };
    if (!validateAnswer(input)) {
      const errors = web.fieldErrors(req, toFieldProblems(validateAnswer.errors), () => l.t('答复', 'the answer'));
      return web.send(res, await complaintPage(req, id, errors, text), 400);
    }
    await answerComplaint(ctx, req.principal!, id, input.text);
    res.redirect(303, `/officer/complaints/${id}`);
  });

  const followUpsPage = async (req: Request, status: 'open' | 'done', failed?: { id: string; errors: FieldError[]; outcome: string }) => {
    const l = web.lang(req);
    const p = req.principal!;
    const page = await listFollowUps(ctx, p, { status, limit: LIST_SIZE, before: beforeOf(req) });
    const items: RatingView[] = page.items.map((x) => ratingView(ctx, x, p));
    const title = status === 'open' ? l.t('待回访差评', 'Bad ratings to follow up') : l.t('已回访', 'Followed up');
    const base = web.base(req, title, failed?.errors);
    return (
      <Page {...base}>
        <h1>{title}</h1>
        <Tabs l={l} here={status === 'open' ? '/officer/follow-ups' : '/officer/follow-ups?status=done'} />
        <p className="hint">{l.t('差评（1–2 分）须在 15 个工作日内回访整改，并登记结果。', 'A bad rating (1–2) is followed up within 15 working days, and the outcome recorded.')}</p>
        {items.length === 0 ? <p>{l.t('没有需要回访的差评。', 'Nothing to follow up.')}</p> : null}
        {items.map((it) => (
          <section className="document" aria-labelledby={`rating-${it.id}`}>
            <h2 className="document-name" id={`rating-${it.id}`}>
              <a href={`/officer/cases/${it.applicationId}`}>{it.applicationNumber ?? it.applicationId}</a> · {it.score} {l.paren(l.b(it.level))}
            </h2>
            <SummaryList
              rows={[
                { key: l.t('评价意见', 'Comment'), value: it.comment ?? '—' },
                { key: l.t('评价时间', 'Rated'), value: dateTime(it.createdAt) },
                { key: l.t('回访期限', 'Follow up by'), value: <Deadline l={l} deadline={it.followUp?.deadline ?? ''} overdue={it.followUp?.overdue ?? false} /> },
                ...(it.followUp?.status === 'done'
                  ? [{ key: l.t('回访整改结果', 'Outcome'), value: <Fragment>{it.followUp.outcome}<span className="caption">{it.followUp.by && 'name' in it.followUp.by ? it.followUp.by.name : ''} · {dateTime(it.followUp.at)}{it.followUp.onTime === false ? l.t('（超期）', ' (late)') : ''}</span></Fragment> }]
                  : []),
              ]}
            />
            {it.followUp?.status === 'open' ? (
              <form method="post" action={`/officer/follow-ups/${it.id}`} novalidate>
                <CsrfField token={base.csrf()} />
                <TextArea
                  name={failed?.id === it.id ? 'outcome' : `outcome-${it.id}`}
                  label={l.t('回访整改结果', 'What the follow-up found and put right')}
                  value={failed?.id === it.id ? failed.outcome : undefined}
                  errors={failed?.id === it.id ? failed.errors : undefined}
                  maxlength={2000}
                />
                <Button secondary>{l.t('登记回访结果', 'Record the outcome')}</Button>
              </form>
            ) : null}
          </section>
        ))}
        {page.next ? <p><a href={`/officer/follow-ups?status=done&before=${page.next}`}>{l.t('更早的回访', 'Older follow-ups')}</a></p> : null}
      </Page>
    );
  };

  r.get('/officer/follow-ups', staff, async (req, res) => web.send(res, await followUpsPage(req, req.query.status === 'done' ? 'done' : 'open')));
  r.post('/officer/follow-ups/:id', staff, web.csrf, async (req, res) => {
    const l = web.lang(req);
    const id = String(req.params.id);
    // Each form's box has its own name on the page (ids are unique); the one posted is the outcome.
    const raw = req.body.outcome ?? req.body[`outcome-${id}`];
    const outcome = typeof raw === 'string' ? raw.trim() : '';
    const input = { outcome };
    if (!validateOutcome(input)) {
      const errors = web.fieldErrors(req, toFieldProblems(validateOutcome.errors), () => l.t('回访整改结果', 'the outcome'));
      return web.send(res, await followUpsPage(req, 'open', { id, errors, outcome }), 400);
    }
    await recordFollowUp(ctx, req.principal!, id, input.outcome);
    res.redirect(303, '/officer/follow-ups?status=done');
  });

  return r;
}
