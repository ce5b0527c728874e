import assert from 'node:assert/strict';
import request from 'supertest';
import { formOf } from '../service/applications/applications.service';
import { accessLog } from '../service/audit/audit.service';
import { village } from '../service/divisions/divisions';
import { REJECT_REASONS } from '../service/review/reasons';
import { BIRTH_SERVICE_KINDS, birthServiceForm, draft, PNG, rebirthPermitForm, submittedApplication, upload } from './support/forms';
import { staffVisitor, Visitor } from './support/visitor';
import { couple, makeTestApp, registerAndLogin, staffLogin, terminalLogin, type TestApp } from './support/app';

/** A wife of her own for each filing: one couple may have only one open case of a type. */

const TOWNSHIP: { role: 'officer'; level: 'township'; jurisdiction: string[] } = { role: 'officer', level: 'township', jurisdiction: ['430725101'] };

describe('officer pages: routes', function () {
  // Each test files its own cases through the API; on a busy machine that takes a while.
  this.timeout(120_000);
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
    const numbers = (html: string) => [...html.matchAll(/<td class="case-number"><a [^>]*>([^<]+)<\/a><\/td>/g)].map((m) => m[1]);
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
    const everyPage = async (who: Visitor) => {
      for (const path of ['/officer', `/officer/cases/${here.id}`, `/officer/cases/${here.id}/documents/x`, `/officer/cases/${here.id}/documents/x/view`, '/officer/certificates/430725-2026-BS-000001/print', '/officer/dashboard']) {
        assert.equal((await who.get(path)).status, 404, path);
      }
      for (const path of ['claim', 'release', 'id-numbers', 'decide']) assert.equal((await who.post(`/officer/cases/${here.id}/${path}`, { action: 'approve' })).status, 404, path);
    };
    await everyPage(r);
    const term = await terminalLogin(t);
    const k = new Visitor(t.app);
    await k.get('/kiosk');
    const signIn = await k.post('/kiosk/sign-in', { terminalId: term.terminalId, secret: term.secret, operatorName: '陈干事' });
    assert.equal(signIn.status, 303);
    await everyPage(k);
    assert.equal((await t.ctx.models.Application.findById(here.id).lean())!.decision ?? null, null);
    assert.ok(!(await accessLog(t.ctx, here.id)).some((e) => e.what === 'view:id-numbers'));
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
    assert.match(csv.text, /^\uFEFFseries,scope,from,to,figure,dimension,key,value/);
    const r = new Visitor(t.app);
    const account = await registerAndLogin(t.app);
    await r.get('/sign-in');
    await r.post('/sign-in', { idNumber: account.idNumber, password: 'correct horse' });
    assert.equal((await r.get('/officer/dashboard')).status, 404);
    assert.equal((await r.get('/officer/dashboard.csv')).status, 404);
  });


  it('when a county officer filters by township and claim status, then only those cases are listed; the township filter offers the county’s townships', async () => {
    const { v } = await staffVisitor(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
    const sub101 = await submittedApplication(t.app, resident.auth, 'rebirth-permit', couple(rebirthPermitForm()));
    const sub102 = await submittedApplication(t.app, resident.auth, 'rebirth-permit', couple(rebirthPermitForm('430725102202')));
    for (const [sub, town] of [[sub101, '430725101'], [sub102, '430725102']] as const) {
      const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: [town] });
      await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
      await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
    }
    const all = await v.get('/officer');
    assert.match(all.text, /name="township"/);
    assert.ok(all.text.includes(sub101.number) && all.text.includes(sub102.number));
    const one = await v.get('/officer?township=430725102');
    assert.equal(one.status, 200);
    assert.ok(one.text.includes(sub102.number), 'the chosen township');
    assert.ok(!one.text.includes(sub101.number), 'not another township');
    assert.match(one.text, /<option value="430725102" selected>/);
    // An unknown township is no filter at all, not an error.
    assert.ok((await v.get('/officer?township=999999999')).text.includes(sub101.number));
    // The API takes the same filter from the same use case.
    const county = await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
    const api = await request(t.app).get('/api/v1/queue?township=430725102').set('Authorization', county.auth).expect(200);
    assert.deepEqual(api.body.items.map((i: { number: string }) => i.number), [sub102.number]);
    await request(t.app).get('/api/v1/queue?township=abc').set('Authorization', county.auth).expect(400);
    // Claim status: once one is claimed, "claimed" lists it alone and "not claimed" the other.
    await request(t.app).post(`/api/v1/applications/${sub101.id}/claim`).set('Authorization', county.auth).send({}).expect(200);
    const claimed = await v.get('/officer?claim=claimed');
    assert.ok(claimed.text.includes(sub101.number) && !claimed.text.includes(sub102.number));
    const unclaimed = await v.get('/officer?claim=unclaimed');
    assert.ok(!unclaimed.text.includes(sub101.number) && unclaimed.text.includes(sub102.number));
  });

  it('when an officer holds claims, then "my claimed cases" shows each with the lease left, renews on the queue, and releases; release needs the token', async () => {
    const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
    const { v, id } = await staffVisitor(t, TOWNSHIP);
    await v.get('/officer');
    await v.post(`/officer/cases/${sub.id}/claim`, {});
    const queuePage = await v.get('/officer');
    assert.match(queuePage.text, /我认领的（1）/);
    assert.match(queuePage.text, /剩余 30 分钟/);
    assert.match(queuePage.text, new RegExp(`action="/officer/cases/${sub.id}/release"`));
    const before = (await t.ctx.models.Application.findById(sub.id).lean())!.claim!.until;
    const renewed = await v.post(`/officer/cases/${sub.id}/claim`, { back: 'queue' });
    assert.equal(renewed.status, 303);
    assert.equal(renewed.headers.location, '/officer');
    assert.ok((await t.ctx.models.Application.findById(sub.id).lean())!.claim!.until >= before);
    const forged = await v.post(`/officer/cases/${sub.id}/release`, {}, false);
    assert.equal(forged.status, 403);
    assert.equal((await t.ctx.models.Application.findById(sub.id).lean())!.claim!.officerId, id);
    const released = await v.post(`/officer/cases/${sub.id}/release`, {});
    assert.equal(released.status, 303);
    const stored = await t.ctx.models.Application.findById(sub.id).lean();
    assert.equal(stored!.status, 'pending');
    assert.equal(stored!.claim, null);
    assert.doesNotMatch((await v.get('/officer')).text, /我认领的（/);
  });

  it('when staff pages load, then the shortcut script is served and listed; a resident’s pages do not load it', async () => {
    const { v } = await staffVisitor(t, TOWNSHIP);
    const page = await v.get('/officer');
    const src = /<script src="(\/assets\/officer\.js\?v=[0-9a-f]+)"/.exec(page.text);
    assert.ok(src, 'the staff script');
    assert.match(page.text, /键盘快捷键/);
    assert.match(page.text, /<kbd>j<\/kbd>/);
    const js = await v.get(src[1]!, '*/*');
    assert.equal(js.status, 200);
    assert.match(String(js.headers['content-type']), /javascript/);
    assert.match(js.text, /data-key/);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(page.text, /<script>/);
    const home = await new Visitor(t.app).get('/');
    assert.doesNotMatch(home.text, /officer\.js/);
  });

  describe('the case and decisions', () => {
    /** A township officer on the pages, holding the claim on a case, its page open. */
    const holding = async (id: string) => {
      const { v } = await staffVisitor(t, TOWNSHIP);
      await v.get('/officer');
      assert.equal((await v.post(`/officer/cases/${id}/claim`, {})).status, 303);
      await v.get(`/officer/cases/${id}`);
      return v;
    };
    it('when an officer opens a case, then the form shows in sections with ID numbers masked, the eligibility trace, documents and history; the view is logged', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const { v } = await staffVisitor(t, TOWNSHIP);
      const res = await v.get(`/officer/cases/${sub.id}`);
      assert.equal(res.status, 200);
      for (const text of ['男方信息', '张伟', '条件审查', '规则版本', '材料', '办理记录', sub.number]) assert.ok(res.text.includes(text), text);
      // The history names what happened in words, as the resident's timeline does, not by its code.
      assert.ok(res.text.includes('提交申请') && !res.text.includes(' · submit · '), 'history actions named');
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

    it('when an officer shows the ID numbers in full, then the page has them and the access log records it; without the token, or outside the jurisdiction, nothing is shown or logged', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const form = formOf(t.ctx, (await t.ctx.models.Application.findById(sub.id).lean())!);
      const wifeId = (form.wife as { idNumber: string }).idNumber;
      const { v } = await staffVisitor(t, TOWNSHIP);
      const page = await v.get(`/officer/cases/${sub.id}`);
      assert.ok(!page.text.includes(wifeId));
      assert.match(page.text, new RegExp(`action="/officer/cases/${sub.id}/id-numbers"`));
      const forged = await v.post(`/officer/cases/${sub.id}/id-numbers`, {}, false);
      assert.equal(forged.status, 403);
      assert.ok(!forged.text.includes(wifeId));
      const { v: stranger } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
      await stranger.get('/officer');
      const outside = await stranger.post(`/officer/cases/${sub.id}/id-numbers`, {});
      assert.equal(outside.status, 404);
      assert.ok(!(await accessLog(t.ctx, sub.id)).some((e) => e.what === 'view:id-numbers'), 'nothing logged yet');
      const shown = await v.post(`/officer/cases/${sub.id}/id-numbers`, {});
      assert.equal(shown.status, 200);
      assert.equal(shown.headers['cache-control'], 'no-store');
      assert.ok(shown.text.includes(wifeId), 'the full ID number');
      assert.ok(shown.text.includes(resident.idNumber), 'the applicant’s full ID number');
      assert.match(shown.text, /已记入查阅记录/);
      const log = await accessLog(t.ctx, sub.id);
      const entry = log.find((e) => e.what === 'view:id-numbers');
      assert.ok(entry, JSON.stringify(log));
      assert.equal(entry.actor.name, '王芳');
      assert.equal(entry.actor.role, 'officer');
    });

    it('when an officer opens a case, then the village is named, the trace has rule ids and citations, and an image is framed inline under the sandbox with its stored type', async () => {
      const created = await draft(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      for (const kind of BIRTH_SERVICE_KINDS) {
        const res = kind === 'photo' ? await upload(t.app, resident.auth, created.id, kind, PNG, 'photo.png', 'image/png') : await upload(t.app, resident.auth, created.id, kind);
        assert.equal(res.status, 201, res.text);
      }
      await request(t.app).post(`/api/v1/applications/${created.id}/submit`).set('Authorization', resident.auth).send({}).expect(200);
      const { v } = await staffVisitor(t, TOWNSHIP);
      const page = await v.get(`/officer/cases/${created.id}`);
      const place = village('430725101202')!;
      assert.ok(page.text.includes(`${place.township.name}${place.name}`), 'the village by name');
      for (const text of ['D-MARRIED', '《中华人民共和国人口与计划生育法》', '规则版本 D-', '✓ 符合']) assert.ok(page.text.includes(text), text);
      const frames = [...page.text.matchAll(/<iframe class="document-frame" src="([^"]+)"[^>]* sandbox=""/g)].map((m) => m[1]!);
      assert.equal(frames.length, 1, 'the image is framed (the PDFs here are unreadable: no pages to frame)');
      const framed = await v.get(frames[0]!, '*/*');
      assert.equal(framed.status, 200);
      assert.equal(framed.headers['content-type'], 'image/png');
      assert.match(String(framed.headers['content-disposition']), /^inline/);
      assert.equal(framed.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'self'; sandbox");
      assert.equal(framed.headers['x-frame-options'], 'SAMEORIGIN');
      assert.equal(framed.headers['x-content-type-options'], 'nosniff');
      const download = await v.get(frames[0]!.replace(/\/view$/, ''), '*/*');
      assert.equal(download.headers['content-type'], 'image/png', 'the download keeps the stored type too');
      assert.match(String(download.headers['content-disposition']), /^attachment/);
      assert.equal(download.headers['x-frame-options'], 'DENY');
      const { v: stranger } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
      assert.equal((await stranger.get(frames[0]!, '*/*')).status, 404);
    });

    it('when a case has complaints, a rating and another case of the couple, then the case view shows them, escaped', async () => {
      const form = couple(birthServiceForm());
      const first = await submittedApplication(t.app, resident.auth, 'birth-service', form);
      await request(t.app).post(`/api/v1/applications/${first.id}/withdraw`).set('Authorization', resident.auth).send({ reason: '重新申请' }).expect(200);
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', form);
      await request(t.app).post(`/api/v1/applications/${sub.id}/complaints`).set('Authorization', resident.auth).send({ text: '办理太慢<script>x</script>' }).expect(201);
      const officer = await staffLogin(t, TOWNSHIP);
      await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
      await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
      await request(t.app).post(`/api/v1/applications/${sub.id}/rating`).set('Authorization', resident.auth).send({ score: 2, comment: '等了<很久>' }).expect(201);
      const { v } = await staffVisitor(t, TOWNSHIP);
      const page = await v.get(`/officer/cases/${sub.id}`);
      assert.ok(page.text.includes('办理太慢&lt;script&gt;x&lt;/script&gt;'), 'the complaint, escaped');
      assert.ok(!page.text.includes('<script>x'), 'never markup');
      assert.match(page.text, /答复期限 \d{4}-\d{2}-\d{2}/);
      assert.ok(page.text.includes('不满意（2/5）'), 'the rating');
      assert.ok(page.text.includes('等了&lt;很久&gt;'), 'its comment, escaped');
      assert.match(page.text, /差评回访：期限 \d{4}-\d{2}-\d{2}/);
      assert.ok(page.text.includes(first.number), 'the couple’s other case');
      assert.match(page.text, /家庭档案/);
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
      const v = await holding(sub.id);
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

    it('when an officer returns with kinds and no note, then the notice names the kinds; with no kind ticked the error says so', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const v = await holding(sub.id);
      const none = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'return' });
      assert.equal(none.status, 400);
      assert.match(none.text, /请勾选需要补正的材料/);
      assert.match(none.text, /href="#f-missing"/);
      assert.match(none.text, /id="f-missing"/);
      const res = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'return', missing: 'photo' });
      assert.equal(res.status, 303, res.text);
      const stored = await t.ctx.models.Application.findById(sub.id).lean();
      assert.equal(stored!.status, 'returned');
      assert.equal(stored!.decision!.reason, '请补正以下材料：夫妻二寸合影照片两张');
    });

    it('when an officer rejects with a common reason and particulars, then the confirmation shows the reason and the decision records it; an unknown reason or none is refused', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const v = await holding(sub.id);
      const page = await v.get(`/officer/cases/${sub.id}`);
      for (const r of REJECT_REASONS) assert.ok(page.text.includes(`<option value="${r.id}">${r.zh}</option>`), r.id);
      const nothing = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'reject', common: '' });
      assert.equal(nothing.status, 400);
      assert.match(nothing.text, /请选择或填写不予许可的理由/);
      const unknown = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'reject', common: 'made-up' });
      assert.equal(unknown.status, 400);
      assert.match(unknown.text, /请从列表中选择理由/);
      const reason = REJECT_REASONS[1]!;
      const confirm = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'reject', common: reason.id, reason: '已有<三个>子女' });
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /确认不予许可/);
      assert.ok(confirm.text.includes(`${reason.zh}：已有&lt;三个&gt;子女`));
      assert.equal((await t.ctx.models.Application.findById(sub.id).lean())!.status, 'in_review');
      const done = await v.post(`/officer/cases/${sub.id}/decide`, { action: 'reject', common: reason.id, reason: '已有<三个>子女', confirm: 'yes' });
      assert.equal(done.status, 303);
      const stored = await t.ctx.models.Application.findById(sub.id).lean();
      assert.equal(stored!.status, 'rejected');
      assert.equal(stored!.decision!.reason, `${reason.zh}：已有<三个>子女`);
    });

    it('when a case is approved, then staff who see it print the certificate from the case; another township’s officer gets 404', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
      const v = await holding(sub.id);
      await v.post(`/officer/cases/${sub.id}/decide`, { action: 'approve', confirm: 'yes' });
      const serial = (await t.ctx.models.Application.findById(sub.id).lean())!.certificateSerial!;
      const page = await v.get(`/officer/cases/${sub.id}`);
      assert.ok(page.text.includes(`href="/officer/certificates/${serial}/print"`));
      const print = await v.get(`/officer/certificates/${serial}/print`);
      assert.equal(print.status, 200);
      assert.ok(print.text.includes(serial));
      assert.equal(print.headers['cache-control'], 'no-store');
      const { v: stranger } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] });
      assert.equal((await stranger.get(`/officer/certificates/${serial}/print`)).status, 404);
    });

    it('when a township officer approves a re-birth permit, then it moves to the county queue, where a county officer finds it', async () => {
      const sub = await submittedApplication(t.app, resident.auth, 'rebirth-permit', rebirthPermitForm());
      const v = await holding(sub.id);
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
