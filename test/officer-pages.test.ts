import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { createStaff } from '../service/accounts/accounts.service';
import { formOf } from '../service/applications/applications.service';
import { accessLog } from '../service/audit/audit.service';
import { birthServiceForm, rebirthPermitForm, submittedApplication } from './support/forms';
import { Visitor } from './support/visitor';
import { makeTestApp, registerAndLogin, staffLogin, terminalLogin, uniqueIdNumber, type TestApp } from './support/app';

/** A wife of her own for each filing: one couple may have only one open case of a type. */
const couple = (form: Record<string, unknown>) => ({ ...form, wife: { ...(form.wife as object), idNumber: uniqueIdNumber('female', 1980) } });

/** An officer (or admin) signed in on the pages, by user name. */
async function staffVisitor(t: TestApp, spec: { role: 'officer' | 'admin'; level?: 'township' | 'county'; jurisdiction?: string[] }, name = '王芳') {
  const username = `p${crypto.randomBytes(5).toString('hex')}`;
  const password = 'officer-password-1';
  const { id } = await createStaff(t.ctx, { username, password, name, ...spec });
  const v = new Visitor(t.app);
  await v.get('/officer/sign-in');
  const res = await v.post('/officer/sign-in', { username, password });
  assert.equal(res.status, 303, res.text);
  assert.equal(res.headers.location, '/officer');
  return { v, id, username };
}

const TOWNSHIP: { role: 'officer'; level: 'township'; jurisdiction: string[] } = { role: 'officer', level: 'township', jurisdiction: ['430725101'] };

describe('officer pages: routes', () => {
  let t: TestApp;
  let resident: Awaited<ReturnType<typeof registerAndLogin>>;
  let here: { id: string; number: string };
  let elsewhere: { id: string; number: string };
  before(async () => {
    t = await makeTestApp();
    resident = await registerAndLogin(t.app, { name: '赵<b>丽</b>' });
    here = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
    elsewhere = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm('430725102202')));
  });
  after(() => t.close());

  it('when nobody is signed in, then the workqueue sends them to the staff sign-in; a wrong password is refused with the form again', async () => {
    const v = new Visitor(t.app);
    const res = await v.get('/officer');
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/officer/sign-in');
    await v.get('/officer/sign-in');
    const wrong = await v.post('/officer/sign-in', { username: 'demo.nobody', password: 'wrong-password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /name="username"/);
    assert.ok(wrong.text.includes('value="demo.nobody"'));
  });

  it('when the sign-in form is posted without its token, then it is refused and no session starts', async () => {
    const v = new Visitor(t.app);
    const before = await t.ctx.models.WebSession.countDocuments();
    const res = await v.post('/officer/sign-in', { username: 'x', password: 'y' }, false);
    assert.equal(res.status, 403);
    assert.equal(await t.ctx.models.WebSession.countDocuments(), before);
  });

  it('when a resident uses their own credentials on the staff sign-in, then they are refused like a wrong password', async () => {
    // Residents have no user name: their ID number as a user name matches no staff account.
    const v = new Visitor(t.app);
    await v.get('/officer/sign-in');
    const res = await v.post('/officer/sign-in', { username: resident.idNumber, password: 'correct horse' });
    assert.equal(res.status, 401);
  });

  it('when a township officer opens the workqueue, then their township case is listed with its deadline and the other township’s is not; names are escaped', async () => {
    const { v } = await staffVisitor(t, TOWNSHIP);
    const res = await v.get('/officer');
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.ok(res.text.includes(here.number), 'own township case listed');
    assert.ok(!res.text.includes(elsewhere.number), 'other township case not listed');
    const app = await t.ctx.models.Application.findById(here.id).lean();
    assert.ok(res.text.includes(app!.stages[0]!.committedDeadline!), 'committed deadline shown');
    assert.ok(!res.text.includes('<b>丽</b>'), 'the name is escaped');
    assert.ok(res.text.includes('&lt;b&gt;'), 'the name is shown as text');
    assert.match(res.text, new RegExp(`action="/officer/cases/${here.id}/claim"`));
    // Claiming another township's case from a forged form: the service's scope answers 404.
    const forged = await v.post(`/officer/cases/${elsewhere.id}/claim`, {});
    assert.equal(forged.status, 404);
    const other = await t.ctx.models.Application.findById(elsewhere.id).lean();
    assert.equal(other!.status, 'pending');
  });

  it('when an officer claims from the list, then the case is theirs in the database and shows under my claims; without the token nothing changes', async () => {
    const { v, id } = await staffVisitor(t, TOWNSHIP, '孙<i>强</i>');
    await v.get('/officer');
    const refused = await v.post(`/officer/cases/${here.id}/claim`, {}, false);
    assert.equal(refused.status, 403);
    assert.equal((await t.ctx.models.Application.findById(here.id).lean())!.status, 'pending');
    const res = await v.post(`/officer/cases/${here.id}/claim`, {});
    assert.equal(res.status, 303);
    const stored = await t.ctx.models.Application.findById(here.id).lean();
    assert.equal(stored!.status, 'in_review');
    assert.equal(stored!.claim!.officerId, id);
    const mine = await v.get('/officer?mine=true');
    assert.ok(mine.text.includes(here.number));
    assert.match(mine.text, /我已认领/);
    assert.match(mine.text, /续期/);
    // Another officer of the same township sees it held, with no claim button.
    const { v: colleague } = await staffVisitor(t, TOWNSHIP);
    const seen = await colleague.get('/officer');
    assert.ok(seen.text.includes(here.number));
    assert.ok(seen.text.includes('孙&lt;i&gt;强&lt;/i&gt;'), 'the holder is named, escaped');
    assert.doesNotMatch(seen.text, new RegExp(`action="/officer/cases/${here.id}/claim"`));
    const taken = await colleague.post(`/officer/cases/${here.id}/claim`, {});
    assert.equal(taken.status, 409);
    assert.equal((await t.ctx.models.Application.findById(here.id).lean())!.claim!.officerId, id);
  });

  it('when the queue is filtered by type or overdue, then only matching cases are listed', async () => {
    const { v } = await staffVisitor(t, TOWNSHIP);
    const honour = await v.get('/officer?type=only-child-honour');
    assert.equal(honour.status, 200);
    assert.ok(!honour.text.includes(here.number));
    const births = await v.get('/officer?type=birth-service');
    assert.ok(births.text.includes(here.number));
    const overdue = await v.get('/officer?overdue=true');
    assert.ok(!overdue.text.includes(here.number), 'a fresh case is not overdue');
  });

  it('when more cases wait than fit a page, then a next-page link leads to the rest in deadline order', async () => {
    const { v } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
    for (let i = 0; i < 20; i++) await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm('430725102202')));
    const first = await v.get('/officer');
    const numbers = (html: string) => [...html.matchAll(/<td class="case-number">([^<]+)<\/td>/g)].map((m) => m[1]);
    assert.equal(numbers(first.text).length, 20);
    const next = /href="(\/officer\?cursor=[^"]+)"/.exec(first.text);
    assert.ok(next, 'a next-page link');
    const second = await v.get(next[1]!.replace(/&amp;/g, '&'));
    assert.equal(second.status, 200);
    const rest = numbers(second.text);
    assert.equal(rest.length, 1);
    assert.ok(!numbers(first.text).includes(rest[0]));
  });

  it('when a resident or a kiosk opens officer pages, then they get 404', async () => {
    const r = new Visitor(t.app);
    const account = await registerAndLogin(t.app);
    await r.get('/sign-in');
    await r.post('/sign-in', { idNumber: account.idNumber, password: 'correct horse' });
    assert.equal((await r.get('/officer')).status, 404);
    assert.equal((await r.post(`/officer/cases/${here.id}/claim`, {})).status, 404);
    const term = await terminalLogin(t);
    const k = new Visitor(t.app);
    await k.get('/kiosk');
    const signIn = await k.post('/kiosk/sign-in', { terminalId: term.terminalId, secret: term.secret, operatorName: '陈干事' });
    assert.equal(signIn.status, 303);
    assert.equal((await k.get('/officer')).status, 404);
    // And the API's bearer tokens do not open pages.
    const api = await request(t.app).get('/officer').set('Authorization', resident.auth).set('Accept', 'text/html');
    assert.equal(api.status, 303);
  });

  it('when staff open the dashboard, then this month’s figures show with the certificates issued, and the CSV link gives the stats service’s CSV; a resident gets 404', async () => {
    // One certificate issued this month through the API, so the headline figure is not a zero.
    const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
    const officer = await staffLogin(t, TOWNSHIP);
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
    const { v } = await staffVisitor(t, { role: 'admin' });
    const issued = await t.ctx.models.Certificate.countDocuments();
    assert.ok(issued >= 1);
    const res = await v.get('/officer/dashboard');
    assert.equal(res.status, 200);
    for (const text of ['本期发证', '按承诺时限办结率', '3 个工作日内办结占比', '当前超期', '满意率', '生育服务证', '/officer/dashboard.csv']) assert.ok(res.text.includes(text), text);
    assert.match(res.text, new RegExp(`本期发证</dt>\\s*<dd>${issued}</dd>`));
    const csv = await v.get('/officer/dashboard.csv', 'text/csv');
    assert.equal(csv.status, 200);
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="?stats-\d{4}-\d{2}-01-/);
    assert.match(csv.text, /^from,to,figure,dimension,key,value/);
    const r = new Visitor(t.app);
    const account = await registerAndLogin(t.app);
    await r.get('/sign-in');
    await r.post('/sign-in', { idNumber: account.idNumber, password: 'correct horse' });
    assert.equal((await r.get('/officer/dashboard')).status, 404);
    assert.equal((await r.get('/officer/dashboard.csv')).status, 404);
  });

  describe('the case and decisions', () => {
    it('when an officer opens a case, then the form shows in sections with ID numbers masked, the eligibility trace, documents and history; the view is logged', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const { v } = await staffVisitor(t, TOWNSHIP);
      const res = await v.get(`/officer/cases/${sub.id}`);
      assert.equal(res.status, 200);
      for (const text of ['男方信息', '张伟', '条件审查', '规则版本', '材料', '办理记录', sub.number]) assert.ok(res.text.includes(text), text);
      const form = formOf(t.ctx, (await t.ctx.models.Application.findById(sub.id).lean())!);
      const husbandId = (form.husband as { idNumber: string }).idNumber;
      assert.ok(!res.text.includes(husbandId), 'the ID number is masked');
      assert.ok(res.text.includes(husbandId.slice(0, 4)), 'the masked ID number is shown');
      assert.ok(res.text.includes('✓ '), 'a met ground');
      const doc = /href="(\/officer\/cases\/[0-9a-f]{24}\/documents\/[^"]+)"/.exec(res.text);
      assert.ok(doc, 'a document link');
      const file = await v.get(doc[1]!, '*/*');
      assert.equal(file.status, 200);
      assert.match(String(file.headers['content-disposition']), /attachment/);
      assert.match(String(file.headers['content-security-policy']), /sandbox/);
      const log = (await accessLog(t.ctx, sub.id)).map((e) => e.what);
      assert.ok(log.includes('view'), JSON.stringify(log));
      assert.ok(log.some((w) => w.startsWith('download:')), JSON.stringify(log));
      // Not claimed: no decision forms.
      assert.doesNotMatch(res.text, /\/decide"/);
      // Another township's officer: 404, for the case and its document.
      const { v: stranger } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
      assert.equal((await stranger.get(`/officer/cases/${sub.id}`)).status, 404);
      assert.equal((await stranger.get(doc[1]!, '*/*')).status, 404);
    });

    it('when an officer claims, returns with two missing kinds, then the case is returned with exactly those kinds; an unknown kind or no kind is refused', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const { v } = await staffVisitor(t, TOWNSHIP);
      await v.get('/officer');
      assert.equal((await v.post(`/officer/cases/${sub.id}/claim`, {})).headers.location, `/officer/cases/${sub.id}`);
      const page = await v.get(`/officer/cases/${sub.id}`);
      const kinds = [...page.text.matchAll(/name="missing" value="([^"]+)"/g)].map((m) => m[1]!);
      assert.ok(kinds.length >= 2, 'the catalogue kinds are offered');
      const none = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'return', reason: '请补充' });
      assert.equal(none.status, 400);
      assert.match(none.text, /error-summary/);
      const body = new URLSearchParams({ _csrf: v.csrf, action: 'return', reason: '照片<不清晰>' });
      body.append('missing', kinds[0]!);
      body.append('missing', 'no-such-kind');
      const unknown = await request(t.app).post(`/officer/cases/${sub.id}/decide`).type('form').set('Cookie', [...v.cookies].map(([k, x]) => `${k}=${x}`).join('; ')).send(body.toString());
      assert.equal(unknown.status, 400);
      assert.equal((await t.ctx.models.Application.findById(sub.id).lean())!.status, 'in_review');
      const ok = new URLSearchParams({ _csrf: v.csrf, action: 'return', reason: '照片<不清晰>' });
      ok.append('missing', kinds[0]!);
      ok.append('missing', kinds[1]!);
      const res = await request(t.app).post(`/officer/cases/${sub.id}/decide`).type('form').set('Cookie', [...v.cookies].map(([k, x]) => `${k}=${x}`).join('; ')).send(ok.toString());
      assert.equal(res.status, 303, res.text);
      const stored = await t.ctx.models.Application.findById(sub.id).lean();
      assert.equal(stored!.status, 'returned');
      assert.deepEqual(stored!.missing, [kinds[0], kinds[1]]);
      const after = await v.get(`/officer/cases/${sub.id}`);
      assert.ok(after.text.includes('照片&lt;不清晰&gt;'), 'the reason is escaped in the history');
    });

    it('when an officer approves, then a confirmation page comes first and only the confirmed post decides and issues the certificate; a reject needs a reason', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const { v } = await staffVisitor(t, TOWNSHIP);
      await v.get('/officer');
      await v.post(`/officer/cases/${sub.id}/claim`, {});
      await v.get(`/officer/cases/${sub.id}`);
      const noReason = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'reject' });
      assert.equal(noReason.status, 400);
      const confirm = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'approve' });
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /确认批准并发证/);
      assert.equal((await t.ctx.models.Application.findById(sub.id).lean())!.status, 'in_review');
      const forged = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'approve', confirm: 'yes' }, false);
      assert.equal(forged.status, 403);
      assert.equal((await t.ctx.models.Application.findById(sub.id).lean())!.status, 'in_review');
      const done = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'approve', confirm: 'yes' });
      assert.equal(done.status, 303);
      const stored = await t.ctx.models.Application.findById(sub.id).lean();
      assert.equal(stored!.status, 'approved');
      assert.ok(stored!.certificateSerial);
    });

    it('when a township officer approves a re-birth permit, then it moves to the county queue, where a county officer finds it', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'rebirth-permit', rebirthPermitForm());
      const { v } = await staffVisitor(t, TOWNSHIP);
      await v.get('/officer');
      await v.post(`/officer/cases/${sub.id}/claim`, {});
      await v.get(`/officer/cases/${sub.id}`);
      const confirm = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'approve' });
      assert.match(confirm.text, /报县级审批/);
      assert.equal((await v.post(`/officer/cases/${sub.id}/decide`, { action: 'approve', confirm: 'yes' })).status, 303);
      const stored = await t.ctx.models.Application.findById(sub.id).lean();
      assert.equal(stored!.status, 'pending');
      assert.equal(stored!.stageIndex, 1);
      assert.ok(!(await v.get('/officer')).text.includes(sub.number), 'gone from the township queue');
      const { v: county } = await staffVisitor(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
      assert.ok((await county.get('/officer')).text.includes(sub.number), 'in the county queue');
    });
  });
});
