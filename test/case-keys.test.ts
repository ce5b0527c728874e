import assert from 'node:assert/strict';
import type { CommandStartedEvent } from 'mongodb';
import { Types } from 'mongoose';
import request from 'supertest';
import type { ApplicationDoc } from '../service/applications/applications.model';
import { APPLICATION_COMPLAINTS_KEY } from '../service/complaints/complaints.store';
import { APPLICATION_DECISIONS_KEY } from '../service/decisions/decisions.store';
import { FAMILY_CASES_KEY } from '../service/families/families.store';
import { FixedClock } from '../service/lib/clock';
import { trustedFilter } from '../service/lib/database';
import { addKey } from '../service/lib/keyindex';
import { APPLICATION_RATING_KEY } from '../service/ratings/ratings.store';
import { rebuildCaseKeys } from '../service/system/case-keys';
import { makeTestApp, registerAndLogin, staffLogin, uniqueIdNumber, type TestApp } from './support/app';
import { asParty, honourForm, rebirthPermitForm, submittedApplication } from './support/forms';
import { staffVisitor, Visitor } from './support/visitor';

type Form = Record<string, unknown>;
const at = (local: string): Date => new Date(`${local.replace(' ', 'T')}:00+08:00`);
const idOf = (person: unknown): string => (person as { idNumber: string }).idNumber;
const sameCouple = (form: Form, from: Form): Form => ({
  ...form,
  husband: { ...(form.husband as Form), idNumber: idOf(from.husband) },
  wife: { ...(form.wife as Form), idNumber: idOf(from.wife) },
});
const ids = (res: request.Response): string[] => (res.body.items as { id: string }[]).map((x) => x.id);

/**
 * A case's complaints, rating, decisions and family record, and the officers' complaint and
 * follow-up lists, are read through key documents and worklists (lib/keyindex.ts, lib/worklist.ts):
 * by `_id` only, with costs that follow the open work or the one case, never the stored history.
 */
describe('Case keys: complaints, ratings, decisions and the family record read by _id only', function () {
  this.timeout(240_000);
  const clock = new FixedClock(at('2026-03-02 09:00'));
  let t: TestApp;
  const sent: CommandStartedEvent[] = [];
  let officerAuth: () => Promise<string>;
  let husband: Awaited<ReturnType<typeof registerAndLogin>>;
  let honour: { id: string; number: string };
  let permit: { id: string; number: string };
  let familyKey: string;
  let complaintId: string;
  let ratingId: string;

  const get = (path: string, auth: string) => request(t.app).get(path).set('Authorization', auth);
  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);
  const key = async (kind: string, value: string): Promise<string[]> => ((await t.ctx.models.KeyIndex.findById(`${kind}:${value}`).lean())?.ids ?? []).map(String);
  const signIn = async (idNumber: string) => `Bearer ${(await request(t.app).post('/api/v1/auth/login').send({ idNumber, password: 'correct horse' }).expect(200)).body.accessToken}`;

  before(async () => {
    t = await makeTestApp({ clock, monitorCommands: true });
    t.conn.getClient().on('commandStarted', (e) => sent.push(e));
    // Tokens live an hour on the test clock: a scenario that moves the clock signs in again.
    officerAuth = async () => (await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] })).auth;
    husband = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('male', 1975) });
    const honourCase = asParty('only-child-honour', honourForm(), husband.idNumber);
    honour = await submittedApplication(t.app, husband.auth, 'only-child-honour', honourCase);
    const officer = await officerAuth();
    await post(`/api/v1/applications/${honour.id}/claim`, officer).expect(200);
    await post(`/api/v1/applications/${honour.id}/decision`, officer, { action: 'approve', reason: '同意' }).expect(200);
    permit = await submittedApplication(t.app, husband.auth, 'rebirth-permit', sameCouple(rebirthPermitForm(), honourCase));
    familyKey = (await t.ctx.models.Application.findById(permit.id).lean<ApplicationDoc>())!.familyKey!;
    complaintId = (await post(`/api/v1/applications/${permit.id}/complaints`, husband.auth, { text: '一直没有人联系我' }).expect(201)).body.id;
    ratingId = (await post(`/api/v1/applications/${honour.id}/rating`, husband.auth, { score: 2, comment: '等太久' }).expect(201)).body.id;
  });
  after(() => t.close());

  it('when a complaint, a rating, a decision and a couple’s second case are stored, then each has its key, and the open complaint and follow-up are on their township’s lists', async () => {
    assert.ok(familyKey, 'the couple’s cases carry the family key');
    assert.deepEqual(await key(APPLICATION_COMPLAINTS_KEY, permit.id), [complaintId]);
    assert.deepEqual(await key(APPLICATION_RATING_KEY, honour.id), [ratingId]);
    const decisions = await key(APPLICATION_DECISIONS_KEY, honour.id);
    assert.equal(decisions.length, 1);
    assert.equal((await t.ctx.models.Decision.findById(decisions[0]).lean())!.kind, 'approval');
    assert.deepEqual((await key(FAMILY_CASES_KEY, familyKey)).sort(), [honour.id, permit.id].sort());
    assert.deepEqual(await key('complaint-open', '430725101'), [complaintId]);
    assert.deepEqual(await key('rating-follow-up-open', '430725101'), [ratingId]);
    assert.deepEqual(await key('complaint-townships', 'all'), ['430725101']);
  });

  /** Reads (find, aggregate, count, distinct) on the case collections whose filter is anything but `_id`. */
  const scans = (): string[] =>
    sent
      .filter((e) => ['find', 'aggregate', 'count', 'distinct'].includes(e.commandName))
      .filter((e) => ['complaints', 'ratings', 'decisions', 'applications', 'certificates'].includes(String(e.command[e.commandName])))
      .filter((e) => e.commandName !== 'find' || Object.keys(e.command.filter ?? {}).join() !== '_id')
      .map((e) => `${e.commandName} ${String(e.command[e.commandName])} ${JSON.stringify(e.command.filter ?? e.command.pipeline ?? e.command.query)}`);

  it('when the resident, the officers’ case view, the inbox, the follow-ups and the JSON API read them, then nothing scans the case collections', async () => {
    const officer = await officerAuth();
    const { v } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const resident = new Visitor(t.app);
    await resident.get('/sign-in');
    assert.equal((await resident.post('/sign-in', { idNumber: husband.idNumber, password: 'correct horse', next: '/my' })).status, 303);

    sent.length = 0;
    assert.deepEqual(ids(await get(`/api/v1/applications/${permit.id}/complaints`, husband.auth).expect(200)), [complaintId]);
    assert.equal((await get(`/api/v1/applications/${honour.id}/rating`, husband.auth).expect(200)).body.id, ratingId);
    assert.equal((await get(`/api/v1/applications/${honour.id}/decisions`, husband.auth).expect(200)).body.items.length, 1);
    assert.deepEqual(ids(await get('/api/v1/complaints?status=open', officer).expect(200)), [complaintId]);
    assert.deepEqual(ids(await get('/api/v1/complaints?status=answered', officer).expect(200)), []);
    assert.deepEqual(ids(await get('/api/v1/ratings/follow-ups', officer).expect(200)), [ratingId]);
    assert.deepEqual(ids(await get('/api/v1/ratings/follow-ups?status=done', officer).expect(200)), []);
    const family = await get(`/api/v1/applications/${permit.id}/family`, officer).expect(200);
    assert.deepEqual(family.body.applications.map((a: { number: string }) => a.number), [honour.number, permit.number]);
    assert.equal(family.body.certificates.length, 1);
    assert.ok(Array.isArray((await get(`/api/v1/applications/${permit.id}`, officer).expect(200)).body.familyFlags));

    const casePage = await v.get(`/officer/cases/${permit.id}`);
    assert.equal(casePage.status, 200);
    assert.ok(casePage.text.includes('一直没有人联系我'), 'the complaint on the case view');
    assert.ok(casePage.text.includes(honour.number), 'the couple’s other case on the case view');
    assert.ok((await v.get(`/officer/cases/${honour.id}`)).text.includes('等太久'), 'the rating on the case view');
    assert.ok((await v.get('/officer/complaints')).text.includes(`/officer/complaints/${complaintId}`));
    assert.ok((await v.get(`/officer/complaints/${complaintId}`)).text.includes('一直没有人联系我'));
    assert.ok((await v.get('/officer/follow-ups')).text.includes(`/officer/follow-ups/${ratingId}`));
    assert.equal((await v.get('/officer/complaints?status=answered')).status, 200);
    assert.equal((await v.get('/officer/follow-ups?status=done')).status, 200);
    assert.ok((await resident.get(`/my/${permit.id}`)).text.includes('一直没有人联系我'), 'the resident’s case page');
    assert.equal((await resident.get(`/my/${honour.id}`)).status, 200);
    assert.deepEqual(scans(), []);
  });

  it('when a key lists a document that does not carry its value (changed, or removed), then the read finds nothing through it', async () => {
    // A rating, a decision and a complaint of another case listed under the permit case.
    await addKey(t.ctx.models, APPLICATION_RATING_KEY, permit.id, new Types.ObjectId(ratingId));
    await addKey(t.ctx.models, APPLICATION_DECISIONS_KEY, permit.id, (await key(APPLICATION_DECISIONS_KEY, honour.id))[0]!);
    await addKey(t.ctx.models, APPLICATION_COMPLAINTS_KEY, honour.id, new Types.ObjectId(complaintId));
    // A case of another couple listed under this couple's key.
    const stranger = await registerAndLogin(t.app, { idNumber: uniqueIdNumber('male', 1976) });
    const other = await submittedApplication(t.app, stranger.auth, 'only-child-honour', asParty('only-child-honour', honourForm(uniqueIdNumber('male', 1976), uniqueIdNumber('female', 1979)), stranger.idNumber));
    await addKey(t.ctx.models, FAMILY_CASES_KEY, familyKey, new Types.ObjectId(other.id));
    // A complaint whose document was removed (a write lost, or deleted).
    const gone = new Types.ObjectId();
    await addKey(t.ctx.models, APPLICATION_COMPLAINTS_KEY, permit.id, gone);
    await addKey(t.ctx.models, 'complaint-open', '430725101', gone);

    const officer = await officerAuth();
    await get(`/api/v1/applications/${permit.id}/rating`, husband.auth).expect(404);
    assert.equal((await get(`/api/v1/applications/${permit.id}/decisions`, husband.auth).expect(200)).body.items.length, 0);
    assert.deepEqual(ids(await get(`/api/v1/applications/${honour.id}/complaints`, husband.auth).expect(200)), []);
    assert.deepEqual(ids(await get(`/api/v1/applications/${permit.id}/complaints`, husband.auth).expect(200)), [complaintId]);
    assert.deepEqual(ids(await get('/api/v1/complaints', officer).expect(200)), [complaintId]);
    const family = await get(`/api/v1/applications/${permit.id}/family`, officer).expect(200);
    assert.deepEqual(family.body.applications.map((a: { number: string }) => a.number), [honour.number, permit.number]);
  });

  /** The township's complaints of a status as a query over the whole collection lists them (the lists before the worklists). */
  const scanned = async (status: string, sort: Record<string, 1 | -1>): Promise<string[]> =>
    (await t.ctx.models.Complaint.find(trustedFilter({ status, division: { $regex: '^430725101' } })).sort(sort).lean()).map((c) => c._id.toString());

  it('when complaints are answered, then they leave the open list for the month’s answered history, listed last answered first a page at a time, in the same jurisdiction as before', async () => {
    clock.set(at('2026-03-03 09:00'));
    let resident = await signIn(husband.idNumber);
    const second = (await post(`/api/v1/applications/${honour.id}/complaints`, resident, { text: '证件打印模糊' }).expect(201)).body.id as string;
    const third = (await post(`/api/v1/applications/${honour.id}/complaints`, resident, { text: '窗口人员态度差' }).expect(201)).body.id as string;
    let officer = await officerAuth();
    let outsider = (await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] })).auth;
    let county = (await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] })).auth;
    // Earliest response deadline first, as before; the same for the county, nothing for another township.
    assert.deepEqual(ids(await get('/api/v1/complaints', officer).expect(200)), [complaintId, second, third]);
    assert.deepEqual(await scanned('open', { responseDeadline: 1, _id: 1 }), [complaintId, second, third], 'what the query over the whole collection gave');
    assert.deepEqual(ids(await get('/api/v1/complaints', county).expect(200)), [complaintId, second, third]);
    assert.deepEqual(ids(await get('/api/v1/complaints', outsider).expect(200)), []);

    // Answered in March, March and April (China time): each moves from the open list to its month.
    await post(`/api/v1/complaints/${second}/response`, officer, { text: '已重新打印' }).expect(200);
    clock.set(at('2026-03-31 23:30'));
    officer = await officerAuth();
    await post(`/api/v1/complaints/${complaintId}/response`, officer, { text: '已联系' }).expect(200);
    clock.set(at('2026-04-01 08:30'));
    officer = await officerAuth();
    await post(`/api/v1/complaints/${third}/response`, officer, { text: '已批评教育' }).expect(200);
    await post(`/api/v1/complaints/${third}/response`, officer, { text: '再答' }).expect(409);

    assert.deepEqual(ids(await get('/api/v1/complaints', officer).expect(200)), []);
    const stillListed = await key('complaint-open', '430725101');
    assert.deepEqual(stillListed.filter((id) => [complaintId, second, third].includes(id)), [], 'the answered ones left the open list');
    assert.deepEqual((await key('complaint-done', '430725101:2026-03')).sort(), [complaintId, second].sort());
    assert.deepEqual(await key('complaint-done', '430725101:2026-04'), [third]);
    assert.deepEqual((await key('complaint-months', '430725101')).sort(), ['2026-03', '2026-04']);

    const all = await get('/api/v1/complaints?status=answered', officer).expect(200);
    assert.deepEqual(ids(all), [third, complaintId, second], 'last answered first, across months');
    assert.deepEqual(await scanned('answered', { answeredAt: -1, _id: -1 }), ids(all), 'the order the whole collection sorted by the answer gives');
    assert.equal(all.body.next, null);
    outsider = (await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] })).auth;
    county = (await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] })).auth;
    assert.deepEqual(ids(await get('/api/v1/complaints?status=answered', county).expect(200)), [third, complaintId, second]);
    assert.deepEqual(ids(await get('/api/v1/complaints?status=answered', outsider).expect(200)), []);
    const seen: string[] = [];
    const cursors: string[] = [];
    let before: string | null = null;
    do {
      const page: request.Response = await get(`/api/v1/complaints?status=answered&limit=1${before ? `&before=${before}` : ''}`, officer).expect(200);
      assert.ok(page.body.items.length <= 1);
      seen.push(...ids(page));
      before = page.body.next;
      if (before) cursors.push(before);
    } while (before);
    assert.deepEqual(seen, [third, complaintId, second], 'the pages together are the whole history, once each');
    // The inbox page takes the same cursor: the answered complaints before the last one answered.
    const { v } = await staffVisitor(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const older = await v.get(`/officer/complaints?status=answered&before=${cursors[0]}`);
    assert.equal(older.status, 200);
    assert.ok(!older.text.includes(`/officer/complaints/${third}`) && older.text.includes(`/officer/complaints/${complaintId}`) && older.text.includes(`/officer/complaints/${second}`));
    assert.ok((await v.get('/officer/complaints?status=answered')).text.includes(`/officer/complaints/${third}`));
    await get('/api/v1/complaints?status=answered&before=not-a-cursor', officer).expect(400);

    // A crash after the answer but before the open list was pruned: the list shows nothing stale and drops it.
    await addKey(t.ctx.models, 'complaint-open', '430725101', new Types.ObjectId(second));
    assert.deepEqual(ids(await get('/api/v1/complaints', officer).expect(200)), []);
    assert.ok(!(await key('complaint-open', '430725101')).includes(second), 'and the read dropped it');
    // A crash after the month was written but before the answer: the complaint is still open, not in history.
    resident = await signIn(husband.idNumber);
    const fourth = (await post(`/api/v1/applications/${honour.id}/complaints`, resident, { text: '材料被退回两次' }).expect(201)).body.id as string;
    await addKey(t.ctx.models, 'complaint-done', '430725101:2026-04', new Types.ObjectId(fourth));
    assert.deepEqual(ids(await get('/api/v1/complaints', officer).expect(200)), [fourth]);
    assert.deepEqual(ids(await get('/api/v1/complaints?status=answered', officer).expect(200)), [third, complaintId, second]);
  });

  it('when a follow-up is recorded, then it leaves the open follow-ups for the done ones, in the township’s jurisdiction only', async () => {
    const officer = await officerAuth();
    const outsider = (await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725102'] })).auth;
    assert.deepEqual(ids(await get('/api/v1/ratings/follow-ups', outsider).expect(200)), []);
    await post(`/api/v1/ratings/${ratingId}/follow-up`, officer, { outcome: '已电话回访' }).expect(200);
    assert.deepEqual(ids(await get('/api/v1/ratings/follow-ups', officer).expect(200)), []);
    const done = await get('/api/v1/ratings/follow-ups?status=done', officer).expect(200);
    assert.deepEqual(ids(done), [ratingId]);
    assert.equal(done.body.items[0].followUp.outcome, '已电话回访');
    assert.deepEqual(ids(await get('/api/v1/ratings/follow-ups?status=done', outsider).expect(200)), []);
    assert.deepEqual(await key('rating-follow-up-open', '430725101'), []);
    assert.deepEqual(await key('rating-follow-up-done', '430725101:2026-04'), [ratingId]);
  });

  it('when keys are lost in a crash, or documents were bulk-inserted without them, then the rebuild restores them from one scan and the reads work again', async () => {
    const officer = await officerAuth();
    const resident = await signIn(husband.idNumber);
    const open = ids(await get('/api/v1/complaints', officer).expect(200));
    const answered = ids(await get('/api/v1/complaints?status=answered', officer).expect(200));
    const doneFollowUps = ids(await get('/api/v1/ratings/follow-ups?status=done', officer).expect(200));
    const permitComplaints = ids(await get(`/api/v1/applications/${permit.id}/complaints`, resident).expect(200));
    // Raw documents, as a bulk load would write them: an open complaint and an open follow-up.
    const rawComplaint = new Types.ObjectId();
    const rawRating = new Types.ObjectId();
    const now = clock.now();
    await t.ctx.models.Complaint.collection.insertOne({
      _id: rawComplaint, applicationId: permit.id, applicationNumber: permit.number, type: 'rebirth-permit', division: '430725101202', recipient: { applicantId: husband.id },
      filedBy: { id: husband.id, role: 'applicant', name: '刘刚' }, channel: 'online', text: '批量导入的投诉', status: 'open', createdAt: now, responseDeadline: '2026-04-30', answer: null, answeredAt: null, answeredOnTime: null,
    });
    await t.ctx.models.Rating.collection.insertOne({
      _id: rawRating, applicationId: permit.id, applicationNumber: permit.number, type: 'rebirth-permit', division: '430725101202', score: 1, channel: 'online',
      ratedBy: { id: husband.id, role: 'applicant', name: '刘刚' }, createdAt: now, followUp: { status: 'open', deadline: '2026-04-22' },
    });
    // The crash: every key of these kinds is gone.
    await t.ctx.models.KeyIndex.deleteMany(trustedFilter({ _id: { $regex: '^(complaint|rating|decision|family)-' } }));
    assert.deepEqual(ids(await get('/api/v1/complaints', officer).expect(200)), []);
    assert.deepEqual(ids(await get(`/api/v1/applications/${permit.id}/complaints`, resident).expect(200)), []);
    await get(`/api/v1/applications/${honour.id}/rating`, resident).expect(404);
    assert.equal((await get(`/api/v1/applications/${permit.id}/family`, officer).expect(200)).body.applications.length, 0);

    const added = await rebuildCaseKeys(t.ctx);
    assert.ok(added && added.complaints > 0 && added.ratings > 0 && added.decisions > 0 && added.families > 0, JSON.stringify(added));
    assert.deepEqual(ids(await get('/api/v1/complaints', officer).expect(200)), [...open, rawComplaint.toString()]);
    assert.deepEqual(ids(await get('/api/v1/complaints?status=answered', officer).expect(200)), answered);
    assert.deepEqual(ids(await get('/api/v1/ratings/follow-ups', officer).expect(200)), [rawRating.toString()]);
    assert.deepEqual(ids(await get('/api/v1/ratings/follow-ups?status=done', officer).expect(200)), doneFollowUps);
    assert.deepEqual(ids(await get(`/api/v1/applications/${permit.id}/complaints`, resident).expect(200)), [...permitComplaints, rawComplaint.toString()]);
    assert.equal((await get(`/api/v1/applications/${honour.id}/rating`, resident).expect(200)).body.id, ratingId);
    assert.equal((await get(`/api/v1/applications/${honour.id}/decisions`, resident).expect(200)).body.items.length, 1);
    const family = await get(`/api/v1/applications/${permit.id}/family`, officer).expect(200);
    assert.deepEqual(family.body.applications.map((a: { number: string }) => a.number), [honour.number, permit.number]);
    assert.deepEqual(await rebuildCaseKeys(t.ctx), { complaints: 0, ratings: 0, decisions: 0, families: 0 }, 'a second rebuild adds nothing');
  });

  it('when the service starts after a clean stop, then the rebuild runs only on a database that never had these keys (older data)', async () => {
    assert.equal(await rebuildCaseKeys(t.ctx, { onlyIfNeverBuilt: true }), null, 'built before: skipped');
    await t.ctx.models.KeyIndex.deleteMany(trustedFilter({ _id: { $regex: '^(complaint|rating|decision|family)-|^built:' } }));
    const added = await rebuildCaseKeys(t.ctx, { onlyIfNeverBuilt: true });
    assert.ok(added && added.complaints > 0 && added.families > 0, JSON.stringify(added));
    assert.equal(await rebuildCaseKeys(t.ctx, { onlyIfNeverBuilt: true }), null);
  });
});
