import assert from 'node:assert/strict';
import request from 'supertest';
import { FixedClock } from '../service/lib/clock';
import type { NotificationDoc } from '../service/notifications/notifications.model';
import { dispatchDue, MAX_ATTEMPTS, sweepMissedNotifications } from '../service/notifications/notifications.service';
import { LogNotifier, type Notifier, type OutgoingMessage } from '../service/notifications/notifier';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { birthServiceForm, rebirthPermitForm, submittedApplication, uploadDocument } from './support/forms';

const at = (local: string): Date => new Date(`${local.replace(' ', 'T')}:00+08:00`);

/** Records what was delivered; fails the first `failures` attempts of every message. */
class RecordingNotifier implements Notifier {
  readonly delivered: OutgoingMessage[] = [];
  private readonly attempts = new Map<string, number>();
  constructor(
    private readonly failures = 0,
    private readonly delayMs = 0,
  ) {}
  async deliver(message: OutgoingMessage): Promise<void> {
    const n = (this.attempts.get(message.key) ?? 0) + 1;
    this.attempts.set(message.key, n);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (n <= this.failures) throw new Error(`gateway unavailable (attempt ${n})`);
    this.delivered.push(message);
  }
  count(key: string): number {
    return this.delivered.filter((m) => m.key === key).length;
  }
}

describe('Notifications: outbox, dispatcher and catch-up sweep', function () {
  this.timeout(60_000);
  const clock = new FixedClock(at('2025-10-09 09:00'));
  let t: TestApp;

  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());

  const post = (path: string, auth: string, body: object = {}) => request(t.app).post(path).set('Authorization', auth).send(body);
  const outboxOf = (applicationId: string) => t.ctx.models.Notification.find({ applicationId }).sort({ createdAt: 1, _id: 1 }).lean<NotificationDoc[]>();
  const withNotifier = (notifier: Notifier) => ({ ...t.ctx, notifier });

  it('when an application is submitted, returned, resubmitted and approved, then each step puts one Chinese message with the number and next step in the outbox', async () => {
    clock.set(at('2025-10-09 09:00'));
    const applicant = await registerAndLogin(t.app);
    const officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    clock.advance(60_000);
    await post(`/api/v1/applications/${sub.id}/claim`, officer.auth).expect(200);
    await post(`/api/v1/applications/${sub.id}/decision`, officer.auth, { action: 'return', reason: '结婚证复印件不清晰', missing: ['marriage-certificate'] }).expect(200);
    clock.advance(60_000);
    await uploadDocument(t.app, applicant.auth, sub.id, 'marriage-certificate');
    await post(`/api/v1/applications/${sub.id}/submit`, applicant.auth).expect(200);
    clock.advance(60_000);
    await post(`/api/v1/applications/${sub.id}/claim`, officer.auth).expect(200);
    const approved = await post(`/api/v1/applications/${sub.id}/decision`, officer.auth, { action: 'approve', reason: '同意' }).expect(200);

    const outbox = await outboxOf(sub.id);
    assert.deepEqual(outbox.map((n) => n.event), ['submitted', 'returned', 'resubmitted', 'approved']);
    for (const n of outbox) {
      assert.match(n.text, new RegExp(sub.number));
      assert.match(n.text, /下一步/);
      assert.equal(n.state, 'pending');
      assert.deepEqual(n.recipient, { applicantId: applicant.id });
    }
    assert.match(outbox[0]!.text, /已受理.*承诺于 2025-10-22 前办结/);
    assert.match(outbox[1]!.text, /需要补正：结婚证。说明：结婚证复印件不清晰/);
    assert.match(outbox[3]!.text, new RegExp(`证件编号 ${approved.body.certificateSerial}`));

    // Claims and a township approval that only moves a re-birth permit on are not news to the applicant.
    const county = await staffLogin(t, { role: 'officer', level: 'county', jurisdiction: ['430725'] });
    const permit = await submittedApplication(t.app, applicant.auth, 'rebirth-permit', rebirthPermitForm());
    clock.advance(60_000);
    await post(`/api/v1/applications/${permit.id}/claim`, officer.auth).expect(200);
    await post(`/api/v1/applications/${permit.id}/decision`, officer.auth, { action: 'approve', reason: '材料齐全' }).expect(200);
    await post(`/api/v1/applications/${permit.id}/claim`, county.auth).expect(200);
    await post(`/api/v1/applications/${permit.id}/decision`, county.auth, { action: 'reject', reason: '不符合再生育条件' }).expect(200);
    const permitOutbox = await outboxOf(permit.id);
    assert.deepEqual(permitOutbox.map((n) => n.event), ['submitted', 'rejected']);
    assert.match(permitOutbox[1]!.text, /理由：不符合再生育条件/);
  });

  it('when the notifier fails twice and then succeeds, then every message is delivered exactly once, with backoff between attempts', async () => {
    clock.set(at('2025-10-13 09:00'));
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    const [record] = await outboxOf(sub.id);
    const flaky = new RecordingNotifier(2);
    const ctx = withNotifier(flaky);

    const first = await dispatchDue(ctx);
    assert.ok(first.failed >= 1);
    let stored = await t.ctx.models.Notification.findById(record!._id).lean<NotificationDoc>();
    assert.equal(stored!.state, 'pending');
    assert.equal(stored!.attempts, 1);
    assert.equal(stored!.nextAttemptAt.getTime(), clock.now().getTime() + 30_000, 'first retry after 30 s');
    await dispatchDue(ctx);
    assert.equal(flaky.count(record!._id), 0, 'not due again before its backoff');

    clock.advance(30_000);
    await dispatchDue(ctx);
    stored = await t.ctx.models.Notification.findById(record!._id).lean<NotificationDoc>();
    assert.equal(stored!.attempts, 2);
    assert.equal(stored!.nextAttemptAt.getTime(), clock.now().getTime() + 60_000, 'then after a minute');
    clock.advance(60_000);
    await dispatchDue(ctx);
    stored = await t.ctx.models.Notification.findById(record!._id).lean<NotificationDoc>();
    assert.equal(stored!.state, 'delivered');
    assert.equal(stored!.attempts, 3);
    assert.equal(flaky.count(record!._id), 1);

    // Nothing is sent again, however often the dispatcher and the sweep run afterwards.
    clock.advance(3_600_000);
    await sweepMissedNotifications(t.ctx, new Date(clock.now().getTime() - 86_400_000));
    await dispatchDue(ctx);
    await dispatchDue(ctx);
    assert.equal(flaky.count(record!._id), 1);
    assert.equal(await t.ctx.models.Notification.countDocuments({ applicationId: sub.id }), 1);
    for (const key of new Set(flaky.delivered.map((m) => m.key))) assert.equal(flaky.count(key), 1, `${key} once`);
  });

  it('when five dispatchers run at once, then each message goes out exactly once', async () => {
    clock.set(at('2025-10-14 09:00'));
    const now = clock.now();
    const keys = Array.from({ length: 20 }, (_v, i) => `race:${now.getTime()}:${i}`);
    await t.ctx.models.Notification.insertMany(
      keys.map((key) => ({ _id: key, event: 'submitted', applicationId: 'race', recipient: { applicantId: 'x' }, text: '测试', state: 'pending', attempts: 0, nextAttemptAt: now, createdAt: now })),
    );
    const slow = new RecordingNotifier(0, 5);
    const ctx = withNotifier(slow);
    await Promise.all(Array.from({ length: 5 }, (_v, i) => dispatchDue(ctx, { owner: `dispatcher-${i}` })));
    for (const key of keys) assert.equal(slow.count(key), 1, `${key} delivered once`);
    assert.equal(await t.ctx.models.Notification.countDocuments({ applicationId: 'race', state: 'delivered', attempts: 1 }), keys.length);
  });

  it('when a crash lost the enqueue after a transition, then the sweep restores the same message once', async () => {
    clock.set(at('2025-10-15 09:00'));
    const applicant = await registerAndLogin(t.app);
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    const [original] = await outboxOf(sub.id);
    await t.ctx.models.Notification.deleteOne({ _id: original!._id });

    const since = new Date(clock.now().getTime() - 86_400_000);
    assert.ok((await sweepMissedNotifications(t.ctx, since)) >= 1);
    const restored = await outboxOf(sub.id);
    assert.deepEqual(restored.map((n) => [n._id, n.text]), [[original!._id, original!.text]]);
    assert.equal(await sweepMissedNotifications(t.ctx, since), 0, 'a second sweep adds nothing');
  });

  it('when a dispatcher dies holding a message, then another one delivers it after the lease; a message that never goes through is parked', async () => {
    clock.set(at('2025-10-16 09:00'));
    const now = clock.now();
    const key = `stuck:${now.getTime()}`;
    await t.ctx.models.Notification.create({
      _id: key, event: 'submitted', applicationId: 'stuck', recipient: {}, text: '测试', state: 'sending', attempts: 1,
      nextAttemptAt: now, leaseOwner: 'dead-dispatcher', leaseUntil: new Date(now.getTime() + 60_000), createdAt: now,
    });
    const notifier = new RecordingNotifier();
    await dispatchDue(withNotifier(notifier));
    assert.equal(notifier.count(key), 0, 'the lease is still held');
    clock.advance(60_000);
    await dispatchDue(withNotifier(notifier));
    assert.equal(notifier.count(key), 1);

    const doomed = `doomed:${now.getTime()}`;
    await t.ctx.models.Notification.create({ _id: doomed, event: 'submitted', applicationId: 'doomed', recipient: {}, text: '测试', state: 'pending', attempts: 0, nextAttemptAt: clock.now(), createdAt: clock.now() });
    const broken: Notifier = { deliver: async () => Promise.reject(new Error('gateway down')) };
    for (let i = 0; i < MAX_ATTEMPTS + 2; i += 1) {
      await dispatchDue(withNotifier(broken));
      clock.advance(2 * 3_600_000);
    }
    const parked = await t.ctx.models.Notification.findById(doomed).lean<NotificationDoc>();
    assert.equal(parked!.state, 'dead');
    assert.equal(parked!.attempts, MAX_ATTEMPTS);
    assert.equal(parked!.lastError, 'gateway down');
  });

  it('the development notifier logs the Chinese text with the number', async () => {
    const lines: string[] = [];
    const notifier = new LogNotifier({ info: (_obj: object, msg?: string) => void lines.push(msg ?? '') } as never);
    await notifier.deliver({ key: 'k', recipient: { applicantId: 'a' }, text: '您的生育服务证申请已受理，受理编号 430725-2025-000001。' });
    assert.deepEqual(lines, ['通知：您的生育服务证申请已受理，受理编号 430725-2025-000001。']);
  });
});
