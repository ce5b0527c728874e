import assert from 'node:assert/strict';
import type { CommandStartedEvent } from 'mongodb';
import { Types } from 'mongoose';
import request from 'supertest';
import { entryOf, repairQueueEntries, type QueueEntryDoc } from '../service/review/queue.store';
import { CLAIMS_KEY } from '../service/applications/applications.store';
import { backfillApplicationKeys } from '../service/applications/applications.service';
import type { ApplicationDoc } from '../service/applications/applications.model';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, submittedApplication, uploadDocument } from './support/forms';

/**
 * The officer queue reads slim entries, not the applications (issue 15). Each entry must follow its
 * application through every transition, and a crash between the two writes must never show a wrong
 * case in a queue.
 */
describe('Officer queue entries', function () {
  this.timeout(120_000);
  let t: TestApp;
  let officer: Awaited<ReturnType<typeof staffLogin>>;
  const sent: CommandStartedEvent[] = [];
  // A township of its own, so other test files' cases stay out of this queue.
  const township = '430725109';
  const form = () => birthServiceForm(`${township}001`);

  before(async () => {
    t = await makeTestApp({ monitorCommands: true });
    t.conn.getClient().on('commandStarted', (e) => sent.push(e));
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: [township] });
  });
  after(() => t.close());

  const post = (path: string, body: object = {}) => request(t.app).post(path).set('Authorization', officer.auth).send(body);
  const queueIds = async (): Promise<string[]> => (await request(t.app).get('/api/v1/queue?limit=100').set('Authorization', officer.auth).expect(200)).body.items.map((i: { id: string }) => i.id);
  const entry = (id: string) => t.ctx.models.QueueEntry.findById(id).lean<QueueEntryDoc>();
  const expected = async (id: string) => entryOf((await t.ctx.models.Application.findById(id).lean<ApplicationDoc>())!);

  it('when an application is submitted, claimed, released, returned, resubmitted and approved, then its entry follows each step and leaves with the decision', async () => {
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    assert.deepEqual(await entry(sub.id), await expected(sub.id));
    assert.equal((await entry(sub.id))?.status, 'pending');
    await post(`/api/v1/applications/${sub.id}/claim`).expect(200);
    assert.equal((await entry(sub.id))?.claim?.officerId, officer.id);
    assert.deepEqual(await entry(sub.id), await expected(sub.id));
    await post(`/api/v1/applications/${sub.id}/release`).expect(200);
    assert.deepEqual(await entry(sub.id), await expected(sub.id));
    await post(`/api/v1/applications/${sub.id}/claim`).expect(200);
    await post(`/api/v1/applications/${sub.id}/decision`, { action: 'return', reason: '结婚证复印件不清晰', missing: ['marriage-certificate'] }).expect(200);
    assert.equal((await entry(sub.id))?.status, 'returned', 'a returned case stays open (its deadline may still move)…');
    assert.ok(!(await queueIds()).includes(sub.id), '…but waits for the applicant, not an officer');
    await uploadDocument(t.app, applicant.auth, sub.id, 'marriage-certificate');
    await request(t.app).post(`/api/v1/applications/${sub.id}/submit`).set('Authorization', applicant.auth).send({}).expect(200);
    assert.deepEqual(await entry(sub.id), await expected(sub.id));
    assert.ok((await queueIds()).includes(sub.id));
    await post(`/api/v1/applications/${sub.id}/claim`).expect(200);
    await post(`/api/v1/applications/${sub.id}/decision`, { action: 'approve', reason: '同意' }).expect(200);
    assert.equal(await entry(sub.id), null);
    assert.ok(!(await queueIds()).includes(sub.id));
  });

  it('when the queue page is read, then the applications are read only by _id (no scan of the growing collection)', async () => {
    const applicant = await registerAndLogin(t.app);
    await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    sent.length = 0;
    assert.ok((await queueIds()).length >= 1);
    const onApplications = sent.filter((e) => ['find', 'aggregate', 'count'].includes(e.commandName) && e.command[e.commandName] === 'applications');
    assert.ok(onApplications.length >= 1);
    for (const e of onApplications) assert.deepEqual(Object.keys(e.command.filter ?? {}), ['_id'], JSON.stringify(e.command.filter));
  });

  it("when an officer reads their claimed cases, then they come from the officer's claims key by _id (no pass over the queue), released and decided ones leave it, and a lost key is restored", async () => {
    const mineIds = async (): Promise<string[]> => (await request(t.app).get('/api/v1/queue?mine=true&limit=100').set('Authorization', officer.auth).expect(200)).body.items.map((i: { id: string }) => i.id);
    const held = await submittedApplication(t.app, (await registerAndLogin(t.app)).auth, 'birth-service', form());
    const released = await submittedApplication(t.app, (await registerAndLogin(t.app)).auth, 'birth-service', form());
    const decided = await submittedApplication(t.app, (await registerAndLogin(t.app)).auth, 'birth-service', form());
    for (const c of [held, released, decided]) await post(`/api/v1/applications/${c.id}/claim`).expect(200);
    const key = async () => ((await t.ctx.models.KeyIndex.findById(`${CLAIMS_KEY}:${officer.id}`).lean())?.ids ?? []).map(String).sort();
    const listed = await key();
    for (const c of [held, released, decided]) assert.ok(listed.includes(c.id), 'each claim is listed under the officer');
    await post(`/api/v1/applications/${released.id}/release`).expect(200);
    await post(`/api/v1/applications/${decided.id}/decision`, { action: 'reject', reason: '不符合条件' }).expect(200);

    sent.length = 0;
    const page = await request(t.app).get('/api/v1/queue?mine=true&limit=100').set('Authorization', officer.auth).expect(200);
    assert.deepEqual(page.body.items.map((i: { id: string }) => i.id), [held.id]);
    assert.deepEqual(page.body.totals, { 'birth-service': 1 });
    const reads = sent.filter((e) => ['find', 'aggregate', 'count'].includes(e.commandName) && ['applications', 'queue_entries'].includes(String(e.command[e.commandName])));
    assert.ok(reads.length >= 1);
    for (const e of reads) assert.deepEqual(Object.keys(e.command.filter ?? {}), ['_id'], `${String(e.command[e.commandName])}: ${JSON.stringify(e.command.filter ?? e.command.pipeline)}`);
    assert.deepEqual(await key(), [held.id], 'the released and the decided cases (and earlier tests’ ended claims) left the key on the read');

    await t.ctx.models.KeyIndex.deleteOne({ _id: `${CLAIMS_KEY}:${officer.id}` });
    assert.deepEqual(await mineIds(), [], 'without the key nothing is listed (no scan falls back)');
    await backfillApplicationKeys(t.ctx);
    assert.deepEqual(await mineIds(), [held.id], 'the start-up backfill restores it');
  });

  it('when a crash left an entry stale or missing, then the queue never shows the wrong case and the start-up repair restores every entry', async () => {
    const applicant = await registerAndLogin(t.app);
    const decided = await submittedApplication(t.app, applicant.auth, 'birth-service', form());
    const waiting = await submittedApplication(t.app, (await registerAndLogin(t.app)).auth, 'birth-service', form());
    await post(`/api/v1/applications/${decided.id}/claim`).expect(200);
    await post(`/api/v1/applications/${decided.id}/decision`, { action: 'reject', reason: '不符合条件' }).expect(200);
    // What a crash between an application write and its entry write leaves: a rejected case still
    // listed as pending, and a pending case with no entry. Written on the raw collection (no hook).
    await t.ctx.models.QueueEntry.collection.insertOne({ _id: new Types.ObjectId(decided.id), status: 'pending', type: 'birth-service', queueLevel: 'township', queueDivision: township, queueDeadline: '2000-01-01', claim: null });
    await t.ctx.models.QueueEntry.collection.deleteOne({ _id: new Types.ObjectId(waiting.id) });

    assert.ok(!(await queueIds()).includes(decided.id), 'the stale entry is not shown');
    const repaired = await repairQueueEntries(t.ctx.models);
    assert.ok(repaired.written >= 1);
    assert.equal(await entry(decided.id), null);
    assert.deepEqual(await entry(waiting.id), await expected(waiting.id));
    assert.ok((await queueIds()).includes(waiting.id));
    assert.deepEqual(await repairQueueEntries(t.ctx.models), { written: 0, removed: 0 }, 'nothing left to repair');
  });
});
