import assert from 'node:assert/strict';
import type { CommandStartedEvent } from 'mongodb';
import { Types } from 'mongoose';
import request from 'supertest';
import { backfillSearchKeys, SEARCH_KEY } from '../service/ledger/ledger.store';
import type { Principal } from '../service/lib/auth';
import { chinaDate } from '../service/lib/workdays';
import { dashboard } from '../service/stats/dashboard.service';
import { computeStats, type StatsQuery } from '../service/stats/stats.service';
import type { StatsBucketDoc } from '../service/stats/stats.model';
import { decodeFact, encodeFact, monthOf, rebuildStatsBuckets, statsBucketsCurrent, type ApplicationFact } from '../service/stats/stats.store';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication, uploadDocument } from './support/forms';

/**
 * Statistics, the dashboard and the register read slim facts in period buckets by `_id`, and the
 * search reads key documents (issue 15): the buckets follow every write, a lost or broken bucket is
 * rebuilt to the same figures, and none of these paths scans the growing collections.
 */
describe('Statistics buckets and the register by _id', function () {
  this.timeout(120_000);
  let t: TestApp;
  let officer: Awaited<ReturnType<typeof staffLogin>>;
  let admin: Awaited<ReturnType<typeof staffLogin>>;
  const sent: CommandStartedEvent[] = [];
  const township = '430725103';
  const form = () => birthServiceForm(`${township}001`);
  const month = () => monthOf(new Date());
  const today = () => chinaDate(new Date());

  before(async () => {
    t = await makeTestApp({ monitorCommands: true });
    t.conn.getClient().on('commandStarted', (e) => sent.push(e));
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: [township] });
    admin = await staffLogin(t, { role: 'admin' });
  });
  after(() => t.close());

  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);
  const bucket = async (id = `${month()}:${township}`) => t.ctx.models.StatsBucket.findById(id).lean<StatsBucketDoc>();
  const stored = async (id: string): Promise<unknown> => (await bucket())?.applications?.[id];
  const fact = async (id: string): Promise<ApplicationFact | undefined> => {
    const raw = await stored(id);
    return raw === undefined ? undefined : decodeFact<ApplicationFact>(raw);
  };
  const open = async () => (await bucket(`open:${township}`))?.applications ?? {};
  const stats = async (auth = admin.auth) => (await request(t.app).get(`/api/v1/stats?from=${month()}-01&to=${today()}`).set('Authorization', auth).expect(200)).body;

  it('when an application is submitted, claimed, returned, resubmitted and approved, then its fact follows each step in the month bucket and the open bucket', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    assert.equal((await fact(sub.id))?.state, 'open');
    assert.equal(typeof (await stored(sub.id)), 'string', 'a fact is one JSON string (FerretDB decodes it at a third of the cost of a subdocument)');
    assert.ok((await fact(sub.id))?.submittedAt instanceof Date, 'its dates come back as dates');
    assert.ok(sub.id in (await open()), 'waiting for an officer: in the open bucket');
    const directory = await t.ctx.models.StatsBucket.findById(`townships:${month()}`).lean<StatsBucketDoc>();
    assert.ok(directory?.codes?.includes(township), 'the month lists the township');

    const home = async () => t.ctx.models.StatsFactHome.findById(sub.id).lean();
    const before = JSON.stringify(await home());
    sent.length = 0;
    await post(`/api/v1/applications/${sub.id}/claim`, officer.auth).expect(200);
    assert.equal(JSON.stringify(await home()), before, 'a claim changes no fact');
    const writes = sent.filter((e) => ['update', 'insert', 'delete', 'findAndModify'].includes(e.commandName) && ['stats_buckets', 'stats_fact_homes'].includes(String(e.command[e.commandName])));
    assert.deepEqual(writes.map((e) => e.commandName), [], 'and writes no bucket: one small read of its home');

    await post(`/api/v1/applications/${sub.id}/decision`, officer.auth, { action: 'return', reason: '结婚证复印件不清晰', missing: ['marriage-certificate'] }).expect(200);
    assert.equal((await fact(sub.id))?.state, 'returned');
    assert.ok((await fact(sub.id))?.returnedAt);
    assert.ok(!(sub.id in (await open())), 'a returned case waits for the applicant: not in the backlog');

    await uploadDocument(t.app, applicant.auth, sub.id, 'marriage-certificate');
    await post(`/api/v1/applications/${sub.id}/submit`, applicant.auth).expect(200);
    assert.equal((await fact(sub.id))?.state, 'open');
    assert.ok(sub.id in (await open()));

    await post(`/api/v1/applications/${sub.id}/claim`, officer.auth).expect(200);
    await post(`/api/v1/applications/${sub.id}/decision`, officer.auth, { action: 'approve', reason: '同意' }).expect(200);
    const approved = await fact(sub.id);
    assert.equal(approved?.state, 'approved');
    assert.match(approved!.certificateSerial!, /BS/);
    assert.equal(approved?.stages.length, 1, 'the stage decision with its deadlines');
    assert.ok(!(sub.id in (await open())));
    const certs = (await bucket())?.certificates ?? {};
    assert.equal(Object.keys(certs).length, 1, 'the certificate issued this month, under its register entry');

    const b = await stats(officer.auth);
    assert.equal(b.counts.total.received, 1);
    assert.equal(b.counts.total.approved, 1);
    assert.equal(b.counts.total.returned, 1);
    assert.equal(b.certificates.issued.total, 1);
    assert.equal(b.backlogNow, 0);

    // Rated, complained about and answered: their facts in the month bucket, the open complaint in the open bucket.
    await post(`/api/v1/applications/${sub.id}/rating`, applicant.auth, { score: 2, comment: '太慢' }).expect(201);
    const complaint = await post(`/api/v1/applications/${sub.id}/complaints`, applicant.auth, { text: '等待时间太长' }).expect(201);
    const complaintId = complaint.body.id as string;
    assert.ok(complaintId in ((await bucket(`open:${township}`))?.complaints ?? {}));
    assert.equal(Object.keys((await bucket())?.ratings ?? {}).length, 1);
    const open1 = await stats(officer.auth);
    assert.equal(open1.complaints.openNow, 1);
    assert.equal(open1.ratings.bad, 1);
    await post(`/api/v1/complaints/${complaintId}/response`, officer.auth, { text: '已核实并改进' }).expect(200);
    assert.ok(!(complaintId in ((await bucket(`open:${township}`))?.complaints ?? {})));
    const answered = await stats(officer.auth);
    assert.deepEqual([answered.complaints.received, answered.complaints.answered, answered.complaints.openNow], [1, 1, 0]);
  });

  it('when an application is withdrawn, then its fact says so and the figure counts it', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    await post(`/api/v1/applications/${sub.id}/withdraw`, applicant.auth, { reason: '不再需要' }).expect(200);
    const f = await fact(sub.id);
    assert.equal(f?.state, 'withdrawn');
    assert.ok(f?.withdrawnAt);
    assert.ok(!(sub.id in (await open())));
    assert.equal((await stats(officer.auth)).counts.total.withdrawn, 1);
  });

  it('when a later return moves the return to another month, then the fact leaves the old month’s bucket', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    const _id = new Types.ObjectId(sub.id);
    // A test's own write, pinning _id as every service write does: the hook follows it.
    await t.ctx.models.Application.updateOne({ _id }, { $set: { status: 'returned', returnedAt: new Date('2024-03-10T02:00:00Z') } });
    assert.ok(sub.id in ((await bucket(`2024-03:${township}`))?.applications ?? {}));
    await t.ctx.models.Application.updateOne({ _id }, { $set: { returnedAt: new Date('2024-05-10T02:00:00Z') } });
    assert.ok(!(sub.id in ((await bucket(`2024-03:${township}`))?.applications ?? {})), 'gone from March');
    assert.ok(sub.id in ((await bucket(`2024-05:${township}`))?.applications ?? {}), 'in May');
    assert.ok(sub.id in ((await bucket())?.applications ?? {}), 'still in the month it was submitted');
  });

  it('when a bucket is deleted and another corrupted, then the rebuild restores them and the figures are identical', async () => {
    const want = await stats();
    const wantLedger = (await request(t.app).get(`/api/v1/ledger?from=${month()}-01&to=${today()}`).set('Authorization', admin.auth).expect(200)).body;
    await t.ctx.models.StatsBucket.collection.deleteOne({ _id: `${month()}:${township}` } as never);
    await t.ctx.models.StatsBucket.collection.deleteOne({ _id: `townships:2024-05` } as never);
    await t.ctx.models.StatsBucket.collection.updateOne({ _id: `open:${township}` } as never, { $set: { applications: { bogus: { type: 'birth-service', division: `${township}001`, committed: '2000-01-01' } } } });
    // Many stale facts in one bucket: the repair writes that bucket anew.
    const bogus = Object.fromEntries(Array.from({ length: 30 }, (_v, i) => [`applications.${new Types.ObjectId().toString()}`, { type: 'birth-service', state: 'approved', n: i }]));
    await t.ctx.models.StatsBucket.collection.updateOne({ _id: `2024-05:${township}` } as never, { $set: bogus });
    const keep = Object.keys((await bucket(`2024-05:${township}`))?.applications ?? {}).filter((id) => !(`applications.${id}` in bogus));
    assert.equal(keep.length, 1, 'the case returned in May 2024');
    const broken = await stats();
    assert.notDeepEqual(broken.counts, want.counts, 'the damage shows');
    assert.equal(broken.overdueNow.committed, 1, 'the bogus open case');

    assert.equal(await statsBucketsCurrent(t.ctx), false, 'never rebuilt: a start-up after a clean stop rebuilds too');
    const repaired = await rebuildStatsBuckets(t.ctx);
    assert.equal(await statsBucketsCurrent(t.ctx), true);
    assert.ok(repaired.written >= 1 && repaired.removed >= 31, JSON.stringify(repaired));
    assert.deepEqual(Object.keys((await bucket(`2024-05:${township}`))?.applications ?? {}), keep, 'the stale facts are gone, the right one kept');
    assert.deepEqual((await bucket('townships:2024-05'))?.codes, [township], 'a lost directory entry of a bucket comes back');
    const again = await stats();
    assert.deepEqual({ ...again, asOf: null }, { ...want, asOf: null });
    const ledger = (await request(t.app).get(`/api/v1/ledger?from=${month()}-01&to=${today()}`).set('Authorization', admin.auth).expect(200)).body;
    assert.deepEqual(ledger, wantLedger);
    assert.deepEqual(await rebuildStatsBuckets(t.ctx), { written: 0, removed: 0 }, 'nothing left to repair');
  });

  it('when a fact is still a subdocument (written before facts were strings), then it reads the same and the rebuild turns it into a string', async () => {
    const want = await stats();
    const id = Object.keys((await bucket())?.applications ?? {})[0]!;
    const asString = await stored(id);
    await t.ctx.models.StatsBucket.collection.updateOne({ _id: `${month()}:${township}` } as never, { $set: { [`applications.${id}`]: decodeFact(asString) } });
    assert.equal(typeof (await stored(id)), 'object');
    assert.deepEqual({ ...(await stats()), asOf: null }, { ...want, asOf: null }, 'the figures read it as before');
    assert.deepEqual(await rebuildStatsBuckets(t.ctx), { written: 1, removed: 0 });
    assert.equal(await stored(id), asString);
    assert.equal(asString, encodeFact(await fact(id)));
  });

  it('when data was written without any hook (a bulk import), then the rebuild files it', async () => {
    const before = await stats();
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    const raw = await t.ctx.models.Application.collection.findOne({ _id: new Types.ObjectId(sub.id) });
    const copy = { ...raw!, _id: new Types.ObjectId(), number: `${raw!.number}-copy` };
    await t.ctx.models.Application.collection.insertOne(copy);
    assert.equal((await stats()).counts.total.received, before.counts.total.received + 1, 'the hooked one counts, the raw copy not yet');
    await rebuildStatsBuckets(t.ctx);
    assert.equal((await stats()).counts.total.received, before.counts.total.received + 2);
  });

  it('when statistics, the register, its CSV and the search are read, then the growing collections are read by _id only', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    const growing = ['applications', 'complaints', 'ratings', 'certificates', 'stats_buckets', 'stats_fact_homes', 'key_index'];
    const reads = () => sent.filter((e) => ['find', 'aggregate', 'count', 'distinct'].includes(e.commandName) && growing.includes(String(e.command[e.commandName])));
    sent.length = 0;
    await stats(officer.auth);
    await request(t.app).get(`/api/v1/ledger?from=${month()}-01&to=${today()}`).set('Authorization', officer.auth).expect(200);
    await request(t.app).get(`/api/v1/ledger?from=${month()}-01&to=${today()}&format=csv`).set('Authorization', officer.auth).expect(200);
    const found = await post('/api/v1/search/applications', officer.auth, { number: sub.number }).expect(200);
    assert.deepEqual(found.body.items.map((i: { id: string }) => i.id), [sub.id]);
    await post('/api/v1/search/applications', officer.auth, { name: '张伟' }).expect(200);
    const seen = reads();
    assert.ok(seen.some((e) => e.command.find === 'stats_buckets'), 'the buckets are read');
    assert.ok(!seen.some((e) => e.commandName !== 'find'), 'no aggregate or count');
    for (const e of seen) assert.deepEqual(Object.keys(e.command.filter ?? {}), ['_id'], `${String(e.command.find)} ${JSON.stringify(e.command.filter)}`);
  });

  it('when the dashboard computes its weeks and townships from one reading, then each equals the statistics asked for alone', async () => {
    const principal = { role: 'admin', id: 'test-admin', name: '管理员', channel: 'staff' } as Principal;
    const q = { from: `${month()}-01`, to: today() };
    // Cases whose only event this week is a later one: filed three weeks ago, returned or withdrawn now.
    const applicant = await registerAndLogin(t.app);
    const weeksAgo = new Date(Date.now() - 21 * 86_400_000);
    for (const [status, extra] of [['returned', { returnedAt: new Date() }], ['withdrawn', {}]] as const) {
      const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
      await t.ctx.models.Application.updateOne({ _id: new Types.ObjectId(sub.id) }, { $set: { submittedAt: weeksAgo, status, ...extra } });
    }
    const withTrend = await dashboard(t.ctx, principal, q);
    const byTownship = await dashboard(t.ctx, principal, q, 'townships');
    const alone = async (query: StatsQuery) => ({ ...(await computeStats(t.ctx, principal, query)), asOf: null });
    assert.deepEqual({ ...withTrend.overall, asOf: null }, await alone(q));
    assert.ok(withTrend.overall.counts.total.received >= 3, 'figures to compare');
    assert.ok(withTrend.trend.at(-1)!.counts.total.returned >= 1 && withTrend.trend.at(-1)!.counts.total.withdrawn >= 1, 'this week counts the return and the withdrawal');
    for (const week of withTrend.trend) assert.deepEqual({ ...week, asOf: null }, await alone(week.period));
    assert.equal(byTownship.byTownship.length, 29);
    for (const { township: tw, stats: s } of byTownship.byTownship) assert.deepEqual({ ...s, asOf: null }, await alone({ ...q, division: tw.code }), tw.code);
    assert.ok(byTownship.byTownship.some((r) => r.stats.counts.total.received > 0));
  });

  it('when a search key document is lost, then the start-up backfill restores it', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    const stored = await t.ctx.models.Application.findById(sub.id).lean();
    const key = stored!.searchKeys![0]!;
    await t.ctx.models.KeyIndex.collection.deleteOne({ _id: `${SEARCH_KEY}:${key}` } as never);
    assert.ok((await backfillSearchKeys(t.ctx)) >= 1);
    const keyDoc = await t.ctx.models.KeyIndex.findById(`${SEARCH_KEY}:${key}`).lean();
    assert.ok(keyDoc?.ids.map(String).includes(`${sub.id}@${stored!.division}`));
    assert.equal(await backfillSearchKeys(t.ctx), 0, 'nothing left to add');
  });
});
