import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { CommandStartedEvent } from 'mongodb';
import { Types } from 'mongoose';
import request from 'supertest';
import type { ApplicationDoc } from '../service/applications/applications.model';
import { markIssuance, recoverIssuance } from '../service/certificates/certificates.service';
import { sweepOrphans } from '../service/documents/documents.service';
import { FixedClock } from '../service/lib/clock';
import { purgeNotifications, DELIVERED_RETENTION_MS } from '../service/notifications/notifications.service';
import { beginRun, endRun } from '../service/system/lifecycle';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, PDF, submittedApplication } from './support/forms';

const quiet = { info: () => {}, warn: () => {} };

/**
 * Housekeeping whose cost must not grow faster than the data (issue 15): every job reads each
 * collection it needs at most once, set-based, and the minutely ones read only small collections.
 * Commands are counted with the driver's command monitoring.
 */
describe('Housekeeping: set-based and small', function () {
  this.timeout(120_000);
  const clock = new FixedClock(new Date('2025-11-03T02:00:00Z'));
  let t: TestApp;
  const sent: CommandStartedEvent[] = [];
  const collectionOf = (e: CommandStartedEvent): string => String(e.command[e.commandName]);
  const readsOf = (collection: string): CommandStartedEvent[] =>
    sent.filter((e) => ['find', 'aggregate', 'count', 'findAndModify', 'update', 'delete'].includes(e.commandName) && collectionOf(e) === collection);

  before(async () => {
    t = await makeTestApp({ clock, monitorCommands: true });
    t.conn.getClient().on('commandStarted', (e) => sent.push(e));
  });
  after(() => t.close());

  /** An approved application as a crash after the approval would leave it: certificate inside, no register entry. */
  async function approvedWithoutRegister(n: number): Promise<Types.ObjectId[]> {
    const template = await approvedApplication();
    const { _id: _ignored, ...rest } = template;
    const ids = Array.from({ length: n }, () => new Types.ObjectId());
    await t.ctx.models.Application.collection.insertMany(
      ids.map((_id, i) => ({ ...rest, _id, number: `${template.number}-${i}`, certificateSerial: `${template.certificateSerial}-${i}`, certificate: { ...template.certificate!, serial: `${template.certificateSerial}-${i}`, verifyId: `${template.certificate!.verifyId}${i}` } })),
    );
    return ids;
  }

  let approvedTemplate: ApplicationDoc | undefined;
  async function approvedApplication(): Promise<ApplicationDoc> {
    if (approvedTemplate) return approvedTemplate;
    const applicant = await registerAndLogin(t.app);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    await request(t.app).post(`/api/v1/applications/${sub.id}/decision`).set('Authorization', officer.auth).send({ action: 'approve', reason: '同意' }).expect(200);
    approvedTemplate = (await t.ctx.models.Application.findById(sub.id).lean<ApplicationDoc>())!;
    return approvedTemplate;
  }

  it('when approvals lack their register entries, then the start-up recovery reads applications and register once each and fills them all in; the minutely run reads neither', async () => {
    const ids = await approvedWithoutRegister(30);
    sent.length = 0;
    const full = await recoverIssuance(t.ctx, quiet, 0, { full: true });
    assert.equal(full.registered, 30);
    for (const id of ids) assert.equal((await t.ctx.models.Certificate.findById(id).lean())?.applicationId, id.toString());

    sent.length = 0;
    const again = await recoverIssuance(t.ctx, quiet, 0, { full: true });
    assert.deepEqual(again, { completed: 0, registered: 0 });
    assert.equal(readsOf('applications').length, 1, 'one scan of applications, not one query per approval');
    assert.equal(readsOf('certificates').length, 1, 'one scan of the register, not one query per serial');

    sent.length = 0;
    await recoverIssuance(t.ctx, quiet);
    assert.deepEqual([readsOf('applications').length, readsOf('certificates').length], [0, 0], 'the minutely run reads only the issuance marks');
    assert.equal(readsOf('issuance_markers').length, 1);
  });

  it('when a final approval was reserved and its process died, then the minutely recovery completes it from its mark, once the grace has passed', async () => {
    const applicant = await registerAndLogin(t.app);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    const id = new Types.ObjectId(sub.id as string);
    // What a crash between reserving the decision and signing leaves behind.
    await markIssuance(t.ctx, id, clock.now());
    await t.ctx.models.Application.updateOne({ _id: id }, { $set: { issuing: { at: clock.now(), by: { id: officer.id, role: 'officer', name: 'x' }, reason: '同意' } } });

    assert.deepEqual(await recoverIssuance(t.ctx, quiet), { completed: 0, registered: 0 }, 'within the grace another instance may still be at work');
    clock.advance(61_000);
    assert.deepEqual(await recoverIssuance(t.ctx, quiet), { completed: 1, registered: 0 });
    const done = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
    assert.equal(done?.status, 'approved');
    assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: sub.id }), 1);
    assert.equal(await t.ctx.models.IssuanceMarker.countDocuments({ _id: id }), 0, 'the mark is gone');
    assert.deepEqual(await recoverIssuance(t.ctx, quiet), { completed: 0, registered: 0 });
    assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: sub.id }), 1, 'still one certificate');
  });

  it('when files lie in the store, then the orphan sweep reads the applications once and removes only the unreferenced old files', async () => {
    const template = await approvedApplication();
    const referenced = template.documents[0]!.storageId;
    const orphans: string[] = [];
    for (let i = 0; i < 12; i += 1) {
      const staged = await t.ctx.files.create();
      fs.writeFileSync(staged.stagingPath, PDF);
      await t.ctx.files.commit(staged.id);
      orphans.push(staged.id);
    }
    sent.length = 0;
    const result = await sweepOrphans(t.ctx, quiet, new Date(Date.now() + 60_000), 0);
    assert.equal(result.orphans, 12);
    assert.equal(readsOf('applications').length, 1, 'one projection, not one query per file');
    for (const id of orphans) assert.equal(await t.ctx.files.stat(id), undefined);
    assert.ok(await t.ctx.files.stat(referenced), 'a referenced file stays');
  });

  it('when the service starts, then it learns whether the previous run stopped cleanly: only then may it skip the start-up repairs', async () => {
    await t.ctx.models.Lifecycle.deleteMany({});
    assert.equal(await beginRun(t.ctx.models, clock.now()), false, 'a first start repairs');
    assert.equal(await beginRun(t.ctx.models, clock.now()), false, 'a start after a run that never stopped (a crash) repairs');
    await endRun(t.ctx.models, clock.now());
    assert.equal(await beginRun(t.ctx.models, clock.now()), true, 'a start after a clean stop may skip them');
    assert.equal(await beginRun(t.ctx.models, clock.now()), false, 'and the run it began is not clean until it stops');
  });

  it('when notifications were delivered long ago or parked for a month, then the purge removes them and keeps what is pending or recent', async () => {
    const now = clock.now();
    const old = new Date(now.getTime() - DELIVERED_RETENTION_MS - 1_000);
    const base = { event: 'submitted', applicationId: 'purge', recipient: {}, text: '测试', attempts: 1 };
    await t.ctx.models.Notification.insertMany([
      { ...base, _id: 'purge:old-delivered', state: 'delivered', deliveredAt: old, nextAttemptAt: old, createdAt: old },
      { ...base, _id: 'purge:recent-delivered', state: 'delivered', deliveredAt: now, nextAttemptAt: now, createdAt: now },
      { ...base, _id: 'purge:old-pending', state: 'pending', nextAttemptAt: old, createdAt: old },
      { ...base, _id: 'purge:old-dead', state: 'dead', nextAttemptAt: old, createdAt: new Date(now.getTime() - 31 * 86_400_000) },
      { ...base, _id: 'purge:recent-dead', state: 'dead', nextAttemptAt: now, createdAt: now },
    ]);
    assert.equal(await purgeNotifications(t.ctx), 2);
    const left = (await t.ctx.models.Notification.find({ applicationId: 'purge' }, { _id: 1 }).lean()).map((n) => n._id).sort();
    assert.deepEqual(left, ['purge:old-pending', 'purge:recent-dead', 'purge:recent-delivered']);
  });
});
