import assert from 'node:assert/strict';
import request from 'supertest';
import { accessLog } from '../service/audit/audit.service';
import { birthServiceForm } from './support/forms';
import { staffVisitor, Visitor } from './support/visitor';
import { couple, makeTestApp, registerAndLogin, staffLogin, terminalLogin, type TestApp } from './support/app';
import { submittedApplication } from './support/forms';

/** A wife of her own for each filing: one couple may have only one open case of a type. */

const TOWNSHIP_101: { role: 'officer'; level: 'township'; jurisdiction: string[] } = { role: 'officer', level: 'township', jurisdiction: ['430725101'] };
const TOWNSHIP_102: { role: 'officer'; level: 'township'; jurisdiction: string[] } = { role: 'officer', level: 'township', jurisdiction: ['430725102'] };

const OFFICER_PAGES = [
  '/officer/search', '/officer/register', '/officer/register.csv', '/officer/complaints', '/officer/complaints?status=answered', '/officer/follow-ups',
  '/officer/dashboard', '/officer/dashboard.csv', '/officer/dashboard/townships', '/officer/dashboard/townships.csv',
];
const ADMIN_PAGES = ['/admin', '/admin/revoke'];

describe('officer records, inbox, dashboard and administration pages', function () {
  // Filing and deciding through the API, and the dashboard's stats computations, are slow on a busy 2-core machine.
  this.timeout(120_000);
  let t: TestApp;
  let resident: Awaited<ReturnType<typeof registerAndLogin>>;
  let here: { id: string; number: string; serial: string };
  let elsewhere: { id: string; number: string; serial: string };
  let waiting: { id: string; number: string };
  let complaintId: string;
  let ratingId: string;

  /** A case filed by the resident and approved through the API by an officer of its township. */
  async function approved(division: string, jurisdiction: string) {
    const sub = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm(division)));
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: [jurisdiction] });
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    const done = await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve' }).expect(200);
    return { id: sub.id, number: sub.number, serial: done.body.certificateSerial as string };
  }

  before(async () => {
    t = await makeTestApp();
    resident = await registerAndLogin(t.app, { name: '赵<b>丽</b>' });
    here = await approved('430725101202', '430725101');
    elsewhere = await approved('430725102202', '430725102');
    waiting = await submittedApplication(t.app, resident.auth, 'birth-service', couple(birthServiceForm()));
    const complaint = await request(t.app).post(`/api/v1/applications/${here.id}/complaints`).set('Authorization', resident.auth).send({ text: '<script>alert(1)</script>办理太慢' }).expect(201);
    complaintId = complaint.body.id;
    await request(t.app).post(`/api/v1/applications/${elsewhere.id}/complaints`).set('Authorization', resident.auth).send({ text: '盘塘镇的投诉' }).expect(201);
    const rating = await request(t.app).post(`/api/v1/applications/${here.id}/rating`).set('Authorization', resident.auth).send({ score: 1, comment: '<i>很差</i>' }).expect(201);
    ratingId = rating.body.id;
  });
  after(async () => {
    await t.conn.dropDatabase();
    await t.close();
  });

  describe('access', () => {
    it('when a resident or a kiosk opens any officer or admin page, then it is a 404; nobody signed in is sent to sign in', async () => {
      const r = new Visitor(t.app);
      const account = await registerAndLogin(t.app);
      await r.get('/sign-in');
      assert.equal((await r.post('/sign-in', { idNumber: account.idNumber, password: 'correct horse' })).status, 303);
      const term = await terminalLogin(t);
      const k = new Visitor(t.app);
      await k.get('/kiosk');
      assert.equal((await k.post('/kiosk/sign-in', { terminalId: term.terminalId, secret: term.secret, operatorName: '陈干事' })).status, 303);
      for (const path of [...OFFICER_PAGES, ...ADMIN_PAGES, `/officer/complaints/${complaintId}`]) {
        assert.equal((await r.get(path)).status, 404, `resident ${path}`);
        assert.equal((await k.get(path)).status, 404, `kiosk ${path}`);
        const nobody = await new Visitor(t.app).get(path);
        assert.equal(nobody.status, 303, `nobody ${path}`);
        assert.equal(nobody.headers.location, '/officer/sign-in');
      }
      assert.equal((await r.post('/officer/search', { by: 'number', value: here.number })).status, 404);
      assert.equal((await k.post('/admin/revoke', { serial: here.serial, reason: 'fraud', confirm: 'yes' })).status, 404);
    });

    it('when an officer who is not an admin opens the administration pages, then every one is a 404 and nothing changes', async () => {
      const { v, id } = await staffVisitor(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
      for (const path of [...ADMIN_PAGES, `/admin/staff/${id}`]) assert.equal((await v.get(path)).status, 404, path);
      await v.get('/officer/search');
      const forged = await v.post('/admin/revoke', { serial: here.serial, reason: 'fraud', confirm: 'yes' });
      assert.equal(forged.status, 404);
      assert.equal((await t.ctx.models.Certificate.findOne({ serial: here.serial }).lean())!.status, 'valid');
      assert.equal((await v.post('/admin/staff', { username: 'sneaky.one', name: 'x', role: 'admin' })).status, 404);
      assert.equal(await t.ctx.models.Account.countDocuments({ username: 'sneaky.one' }), 0);
      // The navigation offers administration to admins only.
      assert.doesNotMatch((await v.get('/officer/search')).text, /href="\/admin"/);
      const { v: admin } = await staffVisitor(t, { role: 'admin' });
      assert.match((await admin.get('/officer/search')).text, /href="\/admin"/);
    });
  });

  describe('dashboard', () => {
    it('when an admin reads the dashboard, then the headline, every figure, the weekly chart with its table, and the tables per township and per type show', async () => {
      const { v } = await staffVisitor(t, { role: 'admin' });
      const res = await v.get('/officer/dashboard');
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const issued = await t.ctx.models.Certificate.countDocuments();
      assert.equal(issued, 2);
      assert.match(res.text, new RegExp(`本期发证</dt>\\s*<dd>${issued}</dd>`));
      for (const text of ['按承诺时限办结率', '3 个工作日内办结占比', '办结工作日中位数', '积压（待审）', '当前超期', '投诉答复率', '满意率', '按事项', '生育服务证', '每周数据']) assert.ok(res.text.includes(text), text);
      // The backlog: the one case still waiting.
      assert.match(res.text, /积压（待审）<\/dt>\s*<dd>1<\/dd>/);
      // The chart: drawn here, named for screen readers, with a table of the same numbers.
      assert.match(res.text, /<svg class="chart"[^>]*role="img"[^>]*aria-labelledby="trend-title trend-desc"/);
      assert.match(res.text, /<title id="trend-title">/);
      assert.match(res.text, /<desc id="trend-desc">[^<]*发证 2/);
      assert.equal((res.text.match(/<tr><th scope="row">\d{4}-\d{2}-\d{2} – /g) ?? []).length, 8, 'eight weeks in the table');
      // Per township, on a page of its own (one stats computation per township): 陬市镇 issued one, 盘塘镇 one.
      const link = /href="(\/officer\/dashboard\/townships\?[^"]+)"/.exec(res.text);
      assert.ok(link, 'a link to the figures by township');
      const towns = await v.get(link[1]!.replace(/&amp;/g, '&'));
      assert.equal(towns.status, 200);
      assert.match(towns.text, /陬市镇<\/a><\/th><td>\d+<\/td><td>\d+<\/td><td>1<\/td>/);
      assert.match(towns.text, /盘塘镇<\/a><\/th><td>\d+<\/td><td>\d+<\/td><td>1<\/td>/);
      assert.equal((towns.text.match(/<tr><th scope="row"><a href="\/officer\/dashboard\?/g) ?? []).length, 29, 'every township of the county');
    });

    it('when the dashboard CSV is exported, then it holds every figure for the period, each township and each week', async () => {
      const { v } = await staffVisitor(t, { role: 'admin' });
      const csv = await v.get('/officer/dashboard.csv', 'text/csv');
      assert.equal(csv.status, 200);
      assert.match(String(csv.headers['content-type']), /text\/csv/);
      assert.match(String(csv.headers['content-disposition']), /attachment; filename="?stats-\d{4}-\d{2}-01-/);
      const lines = csv.text.replace(/^\uFEFF/, '').trim().split('\r\n');
      assert.equal(lines[0], 'series,scope,from,to,figure,dimension,key,value');
      assert.ok(lines.some((l) => /^period,all,[\d-]+,[\d-]+,certificates\.issued,all,,2$/.test(l)), 'headline in the CSV');
      assert.ok(lines.some((l) => /^period,all,[\d-]+,[\d-]+,backlogNow,all,,1$/.test(l)), 'backlog in the CSV');
      assert.equal(new Set(lines.filter((l) => l.startsWith('week,')).map((l) => l.split(',')[2])).size, 8, 'eight weeks');
      const towns = (await v.get('/officer/dashboard/townships.csv', 'text/csv')).text.trim().split('\r\n');
      assert.ok(towns.some((l) => /^township,430725101,.*,certificates\.issued,all,,1$/.test(l)), 'a township row');
      assert.ok(towns.some((l) => /^township,430725102,.*,certificates\.issued,all,,1$/.test(l)), 'the other township');
      for (const figure of ['onTimeCommittedRate', 'within3WorkingDaysShare', 'medianWorkingDays', 'overdueNowCommitted', 'complaints.answerRate', 'ratings.satisfactionRate']) {
        assert.ok(lines.some((l) => l.startsWith('period,all,') && l.includes(`,${figure},`)), figure);
      }
    });

    it('when a township officer reads the dashboard, then it is their township only; another township is refused with an error summary', async () => {
      const { v } = await staffVisitor(t, TOWNSHIP_101);
      const res = await v.get('/officer/dashboard');
      assert.equal(res.status, 200);
      assert.match(res.text, /本期发证<\/dt>\s*<dd>1<\/dd>/);
      assert.ok(res.text.includes('陬市镇'));
      assert.ok(!res.text.includes('盘塘镇'), 'no other township');
      assert.doesNotMatch(res.text, /\/officer\/dashboard\/townships/, 'one township: no table by township');
      const csv = await v.get('/officer/dashboard.csv', 'text/csv');
      assert.match(csv.text, /\r\nperiod,all,[\d-]+,[\d-]+,certificates\.issued,all,,1\r\n/);
      const towns = await v.get('/officer/dashboard/townships.csv', 'text/csv');
      assert.ok(towns.text.includes('township,430725101,'));
      assert.ok(!towns.text.includes('430725102'), 'no other township in the CSV');
      const other = await v.get('/officer/dashboard?township=430725102');
      assert.equal(other.status, 400);
      assert.match(other.text, /error-summary/);
      assert.match(other.text, /不在您的管辖范围内/);
      const backwards = await v.get('/officer/dashboard?from=2026-05-10&to=2026-05-01');
      assert.equal(backwards.status, 400);
      assert.equal((await v.get('/officer/dashboard.csv?township=430725102', 'text/csv')).status, 400);
    });
  });

  describe('search and register', () => {
    it('when an officer searches by number, name or ID number, then cases of their township are found (names escaped) and each search is in the access log', async () => {
      const { v } = await staffVisitor(t, TOWNSHIP_101);
      assert.equal((await v.get('/officer/search')).status, 200);
      const byNumber = await v.post('/officer/search', { by: 'number', value: here.number });
      assert.equal(byNumber.status, 200);
      assert.ok(byNumber.text.includes(`href="/officer/cases/${here.id}"`));
      assert.ok(byNumber.text.includes('赵&lt;b&gt;丽&lt;/b&gt;'), 'the name is shown as text');
      assert.ok(!byNumber.text.includes('<b>丽</b>'));
      assert.ok((await accessLog(t.ctx, here.id)).some((e) => e.what === 'search:number'));
      const byName = await v.post('/officer/search', { by: 'name', value: '张伟' });
      assert.ok(byName.text.includes(here.number), 'found by the husband’s name');
      assert.ok(!byName.text.includes(elsewhere.number), 'not the other township’s');
      const prefix = await v.post('/officer/search', { by: 'name', value: '张', prefix: 'true' });
      assert.ok(prefix.text.includes(here.number), 'found by the name’s beginning');
      const byId = await v.post('/officer/search', { by: 'idNumber', value: resident.idNumber });
      assert.ok(byId.text.includes(here.number));
      const foreign = await v.post('/officer/search', { by: 'number', value: elsewhere.number });
      assert.ok(!foreign.text.includes(elsewhere.id), 'the other township’s case is not found');
      assert.match(foreign.text, /没有找到办件/);
    });

    it('when a search is empty, malformed or posted without the form token, then it is refused and nothing is logged', async () => {
      const { v } = await staffVisitor(t, TOWNSHIP_101);
      await v.get('/officer/search');
      const empty = await v.post('/officer/search', { by: 'name', value: '' });
      assert.equal(empty.status, 400);
      assert.match(empty.text, /error-summary/);
      assert.match(empty.text, /href="#f-value"/);
      const badId = await v.post('/officer/search', { by: 'idNumber', value: '123' });
      assert.equal(badId.status, 400);
      assert.match(badId.text, /error-summary/);
      const before = (await accessLog(t.ctx, here.id)).length;
      const forged = await v.post('/officer/search', { by: 'number', value: here.number }, false);
      assert.equal(forged.status, 403);
      assert.equal((await accessLog(t.ctx, here.id)).length, before);
    });

    it('when an officer opens the register, then the decided cases of their scope show, and the CSV export holds them', async () => {
      const { v } = await staffVisitor(t, TOWNSHIP_101);
      const res = await v.get('/officer/register');
      assert.equal(res.status, 200);
      assert.ok(res.text.includes(here.number));
      assert.ok(res.text.includes(here.serial));
      assert.ok(!res.text.includes(elsewhere.number), 'the other township is not in the register');
      assert.ok(!res.text.includes(waiting.number), 'an undecided case is not in the register');
      assert.ok((await accessLog(t.ctx, here.id)).some((e) => e.what === 'ledger:page'));
      const link = /href="(\/officer\/register\.csv\?[^"]*)"/.exec(res.text);
      assert.ok(link, 'an export link');
      const csv = await v.get(link[1]!.replace(/&amp;/g, '&'), 'text/csv');
      assert.equal(csv.status, 200);
      assert.match(String(csv.headers['content-disposition']), /attachment; filename="?ledger-/);
      assert.ok(csv.text.startsWith('\uFEFF受理编号'), 'BOM and header');
      assert.ok(csv.text.includes(here.number) && csv.text.includes(here.serial));
      assert.ok(!csv.text.includes(elsewhere.number));
      assert.ok((await accessLog(t.ctx, here.id)).some((e) => e.what === 'ledger:csv'));
      const admin = await staffVisitor(t, { role: 'admin' });
      const all = await admin.v.get('/officer/register?outcome=approved&type=birth-service');
      assert.ok(all.text.includes(here.number) && all.text.includes(elsewhere.number));
      const backwards = await admin.v.get('/officer/register?from=2026-05-10&to=2026-05-01');
      assert.equal(backwards.status, 400);
      assert.match(backwards.text, /error-summary/);
      assert.equal((await admin.v.get('/officer/register.csv?from=2026-05-10&to=2026-05-01', 'text/csv')).status, 400);
    });
  });

  describe('complaints and follow-ups', () => {
    it('when an officer opens the inbox, then their township’s open complaint shows with its deadline, escaped; another township’s officer cannot open it', async () => {
      const { v } = await staffVisitor(t, TOWNSHIP_101);
      const res = await v.get('/officer/complaints');
      assert.equal(res.status, 200);
      const stored = await t.ctx.models.Complaint.findById(complaintId).lean();
      assert.ok(res.text.includes(stored!.responseDeadline), 'the deadline');
      assert.ok(res.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;办理太慢'), 'escaped');
      assert.ok(!res.text.includes('<script>alert(1)'));
      assert.ok(!res.text.includes('盘塘镇的投诉'), 'not the other township’s');
      assert.equal((await v.get(`/officer/complaints/${complaintId}`)).status, 200);
      const { v: stranger } = await staffVisitor(t, TOWNSHIP_102);
      assert.equal((await stranger.get(`/officer/complaints/${complaintId}`)).status, 404);
      await stranger.get('/officer/complaints');
      assert.equal((await stranger.post(`/officer/complaints/${complaintId}/answer`, { text: '越权答复' })).status, 404);
      assert.equal((await t.ctx.models.Complaint.findById(complaintId).lean())!.status, 'open');
    });

    it('when an officer answers a complaint, then an empty answer or one without the token is refused, and a real one is stored and shows in the history', async () => {
      const { v } = await staffVisitor(t, TOWNSHIP_101, '钱<u>进</u>');
      await v.get(`/officer/complaints/${complaintId}`);
      const empty = await v.post(`/officer/complaints/${complaintId}/answer`, { text: '   ' });
      assert.equal(empty.status, 400);
      assert.match(empty.text, /error-summary/);
      assert.match(empty.text, /请填写答复/);
      const forged = await v.post(`/officer/complaints/${complaintId}/answer`, { text: '已处理' }, false);
      assert.equal(forged.status, 403);
      assert.equal((await t.ctx.models.Complaint.findById(complaintId).lean())!.status, 'open');
      const done = await v.post(`/officer/complaints/${complaintId}/answer`, { text: '已督促<em>加快</em>办理' });
      assert.equal(done.status, 303);
      const stored = await t.ctx.models.Complaint.findById(complaintId).lean();
      assert.equal(stored!.status, 'answered');
      assert.equal(stored!.answer!.text, '已督促<em>加快</em>办理');
      const page = await v.get(`/officer/complaints/${complaintId}`);
      assert.ok(page.text.includes('已督促&lt;em&gt;加快&lt;/em&gt;办理'));
      assert.ok(page.text.includes('钱&lt;u&gt;进&lt;/u&gt;'), 'who answered, escaped');
      assert.doesNotMatch(page.text, /\/answer"/, 'no second answer form');
      const answered = await v.get('/officer/complaints?status=answered');
      assert.ok(answered.text.includes('已督促&lt;em&gt;加快&lt;/em&gt;办理'));
      assert.ok(!(await v.get('/officer/complaints')).text.includes(`/officer/complaints/${complaintId}"`), 'no longer open');
    });

    it('when an officer follows up a bad rating, then the deadline shows, an empty outcome or a forged post changes nothing, and the outcome is recorded', async () => {
      const { v } = await staffVisitor(t, TOWNSHIP_101);
      const res = await v.get('/officer/follow-ups');
      assert.equal(res.status, 200);
      const stored = await t.ctx.models.Rating.findById(ratingId).lean();
      assert.ok(res.text.includes(stored!.followUp!.deadline));
      assert.ok(res.text.includes('&lt;i&gt;很差&lt;/i&gt;'));
      assert.ok(res.text.includes(`action="/officer/follow-ups/${ratingId}"`));
      const { v: stranger } = await staffVisitor(t, TOWNSHIP_102);
      assert.ok(!(await stranger.get('/officer/follow-ups')).text.includes(ratingId), 'not in another township’s list');
      const empty = await v.post(`/officer/follow-ups/${ratingId}`, { [`outcome-${ratingId}`]: '' });
      assert.equal(empty.status, 400);
      assert.match(empty.text, /error-summary/);
      const forged = await v.post(`/officer/follow-ups/${ratingId}`, { [`outcome-${ratingId}`]: '已回访' }, false);
      assert.equal(forged.status, 403);
      assert.equal((await t.ctx.models.Rating.findById(ratingId).lean())!.followUp!.status, 'open');
      const done = await v.post(`/officer/follow-ups/${ratingId}`, { [`outcome-${ratingId}`]: '已电话回访，当事人表示理解' });
      assert.equal(done.status, 303);
      assert.equal((await t.ctx.models.Rating.findById(ratingId).lean())!.followUp!.status, 'done');
      const history = await v.get('/officer/follow-ups?status=done');
      assert.ok(history.text.includes('已电话回访，当事人表示理解'));
    });
  });

  describe('administration', () => {
    it('when an admin creates an officer, then the one-time password is shown once and opens the staff sign-in; bad input and a taken name are refused', async () => {
      const { v } = await staffVisitor(t, { role: 'admin' }, '管理员<甲>');
      const home = await v.get('/admin');
      assert.equal(home.status, 200);
      const bad = await v.post('/admin/staff', { username: 'X!', name: '', role: 'officer', level: '', jurisdiction: '43' });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /error-summary/);
      for (const field of ['username', 'name', 'level', 'jurisdiction']) assert.match(bad.text, new RegExp(`href="#f-${field}"`), field);
      const res = await v.post('/admin/staff', { username: 'li.officer', name: '李<script>官</script>', role: 'officer', level: 'township', jurisdiction: '430725101, 430725102' });
      assert.equal(res.status, 200);
      assert.equal(res.headers['cache-control'], 'no-store');
      const secret = /id="one-time-secret">([^<]+)</.exec(res.text)![1]!;
      const account = await t.ctx.models.Account.findOne({ username: 'li.officer' }).lean();
      assert.deepEqual(account!.jurisdiction, ['430725101', '430725102']);
      assert.ok(!JSON.stringify(account).includes(secret), 'only a hash is stored');
      const list = await v.get('/admin');
      assert.ok(list.text.includes('李&lt;script&gt;官&lt;/script&gt;'), 'the name is escaped');
      assert.ok(!list.text.includes(secret), 'the secret is not shown again');
      const taken = await v.post('/admin/staff', { username: 'li.officer', name: '另一个', role: 'admin' });
      assert.equal(taken.status, 400);
      assert.match(taken.text, /已被使用/);
      const officer = new Visitor(t.app);
      await officer.get('/officer/sign-in');
      assert.equal((await officer.post('/officer/sign-in', { username: 'li.officer', password: secret })).status, 303);
      assert.equal((await officer.get('/officer')).status, 200);
      const log = await t.ctx.models.AdminLog.find({ 'target.label': 'li.officer' }).lean();
      assert.equal(log.length, 1);
      assert.equal(log[0]!.action, 'create');
      assert.equal(log[0]!.actor.name, '管理员<甲>');
      assert.ok(!JSON.stringify(log).includes(secret));
    });

    it('when an admin sets the jurisdiction, disables and resets a password, then each is stored and logged, sessions stop, and a forged post changes nothing', async () => {
      const { v: admin } = await staffVisitor(t, { role: 'admin' });
      const { v: officer, id, password } = await staffVisitor(t, TOWNSHIP_101);
      const page = await admin.get(`/admin/staff/${id}`);
      assert.equal(page.status, 200);
      const refused = await admin.post(`/admin/staff/${id}/jurisdiction`, { level: 'county', jurisdiction: '' });
      assert.equal(refused.status, 400);
      assert.match(refused.text, /error-summary/);
      const forged = await admin.post(`/admin/staff/${id}/jurisdiction`, { level: 'county', jurisdiction: '430725' }, false);
      assert.equal(forged.status, 403);
      assert.deepEqual((await t.ctx.models.Account.findById(id).lean())!.jurisdiction, ['430725101']);
      assert.equal((await admin.post(`/admin/staff/${id}/jurisdiction`, { level: 'township', jurisdiction: '430725102' })).status, 303);
      assert.deepEqual((await t.ctx.models.Account.findById(id).lean())!.jurisdiction, ['430725102']);
      // The officer's open session sees the new scope at once: the other township's register now.
      const register = await officer.get('/officer/register');
      assert.ok(register.text.includes(elsewhere.number) && !register.text.includes(here.number));
      const reset = await admin.post(`/admin/staff/${id}/reset`, {});
      assert.equal(reset.status, 200);
      const secret = /id="one-time-secret">([^<]+)</.exec(reset.text)![1]!;
      assert.equal((await officer.get('/officer')).status, 303, 'the old session ended');
      const username = (await t.ctx.models.Account.findById(id).lean())!.username!;
      const again = new Visitor(t.app);
      await again.get('/officer/sign-in');
      assert.equal((await again.post('/officer/sign-in', { username, password })).status, 401, 'the old password no longer works');
      assert.equal((await again.post('/officer/sign-in', { username, password: secret })).status, 303);
      await admin.get(`/admin/staff/${id}`);
      assert.equal((await admin.post(`/admin/staff/${id}/disable`, {})).status, 303);
      assert.equal((await t.ctx.models.Account.findById(id).lean())!.disabled, true);
      assert.equal((await again.get('/officer')).status, 303, 'a disabled account’s session ends');
      assert.equal((await admin.post(`/admin/staff/${id}/enable`, {})).status, 303);
      assert.equal((await t.ctx.models.Account.findById(id).lean())!.disabled, false);
      const actions = (await t.ctx.models.AdminLog.find({ 'target.id': id }).sort({ at: 1 }).lean()).map((e) => e.action);
      assert.deepEqual(actions, ['set-jurisdiction', 'reset-credential', 'disable', 'enable']);
      assert.match((await admin.get('/admin')).text, /设置管辖范围 · /);
    });

    it('when an admin creates, moves, resets and disables a terminal, then the kiosk signs in with the one-time secret only while enabled', async () => {
      const { v: admin } = await staffVisitor(t, { role: 'admin' });
      await admin.get('/admin');
      const bad = await admin.post('/admin/terminals', { township: '999999999', name: '' });
      assert.equal(bad.status, 400);
      assert.match(bad.text, /href="#f-township"/);
      const made = await admin.post('/admin/terminals', { township: '430725103', name: '热市镇便民服务中心' });
      assert.equal(made.status, 200);
      const terminalId = /终端编号：(T430725103-[0-9A-F]+)/.exec(made.text)![1]!;
      const secret = /id="one-time-secret">([^<]+)</.exec(made.text)![1]!;
      const kiosk = async (s: string) => {
        const k = new Visitor(t.app);
        await k.get('/kiosk');
        return (await k.post('/kiosk/sign-in', { terminalId, secret: s, operatorName: '刘干事' })).status;
      };
      assert.equal(await kiosk(secret), 303);
      const path = `/admin/terminals/${terminalId}`;
      assert.equal((await admin.get(path)).status, 200);
      assert.equal((await admin.post(`${path}/jurisdiction`, { township: '430725104' })).status, 303);
      assert.equal((await t.ctx.models.Terminal.findOne({ terminalId }).lean())!.township, '430725104');
      const reset = await admin.post(`${path}/reset`, {});
      const fresh = /id="one-time-secret">([^<]+)</.exec(reset.text)![1]!;
      assert.equal(await kiosk(secret), 401);
      assert.equal(await kiosk(fresh), 303);
      await admin.get(path);
      assert.equal((await admin.post(`${path}/disable`, {})).status, 303);
      assert.equal(await kiosk(fresh), 401);
      assert.equal((await admin.get('/admin/terminals/T-NO-SUCH')).status, 404);
    });

    it('when an admin revokes a certificate, then a reason is required, a confirmation comes first, and the holder’s notice shows; verification then says revoked', async () => {
      const { v } = await staffVisitor(t, { role: 'admin' });
      const found = await v.get(`/admin/revoke?serial=${here.serial}`);
      assert.equal(found.status, 200);
      for (const reason of ['fraud', 'decision-error', 'superseded', 'other']) assert.ok(found.text.includes(`value="${reason}"`), reason);
      assert.ok(found.text.includes('赵&lt;b&gt;丽&lt;/b&gt;') || found.text.includes('张伟'), 'the holder');
      const none = await v.post('/admin/revoke', { serial: here.serial });
      assert.equal(none.status, 400);
      assert.match(none.text, /error-summary/);
      const otherWithout = await v.post('/admin/revoke', { serial: here.serial, reason: 'other' });
      assert.equal(otherWithout.status, 400);
      const confirm = await v.post('/admin/revoke', { serial: here.serial, reason: 'other', text: '户籍信息<有误>' });
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /确认注销该证件/);
      assert.ok(confirm.text.includes('户籍信息&lt;有误&gt;'));
      assert.equal((await t.ctx.models.Certificate.findOne({ serial: here.serial }).lean())!.status, 'valid');
      const forged = await v.post('/admin/revoke', { serial: here.serial, reason: 'other', text: '户籍信息<有误>', confirm: 'yes' }, false);
      assert.equal(forged.status, 403);
      assert.equal((await t.ctx.models.Certificate.findOne({ serial: here.serial }).lean())!.status, 'valid');
      const done = await v.post('/admin/revoke', { serial: here.serial, reason: 'other', text: '户籍信息<有误>', confirm: 'yes' });
      assert.equal(done.status, 200);
      assert.match(done.text, /证件已注销/);
      assert.match(done.text, /已发给持证人的通知/);
      assert.ok(done.text.includes(`（证件编号 ${here.serial}）已被注销，理由：其他原因：户籍信息&lt;有误&gt;`), 'the notice, escaped');
      const cert = await t.ctx.models.Certificate.findOne({ serial: here.serial }).lean();
      assert.equal(cert!.status, 'revoked');
      const verified = await request(t.app).get(`/api/v1/verify/${cert!.token}`).set('Accept', 'application/json').expect(200);
      assert.equal(verified.body.status, 'revoked');
      const twice = await v.post('/admin/revoke', { serial: here.serial, reason: 'fraud', confirm: 'yes' });
      assert.equal(twice.status, 409);
      assert.equal((await v.get('/admin/revoke?serial=430725-2099-BS-999999')).status, 404);
    });
  });
});
