import assert from 'node:assert/strict';
import { Types } from 'mongoose';
import request from 'supertest';
import type { ApplicationDoc } from '../service/applications/applications.model';
import { makeTestApp, registerAndLogin, staffLogin, type TestApp } from './support/app';
import { chinaDate } from '../service/lib/workdays';
import { birthServiceForm, readyBirthService, submittedApplication } from './support/forms';

/**
 * Races: many requests at once on one application. Each scenario runs several rounds; exactly one
 * request may win every time.
 */
describe('Review races', function () {
  this.timeout(120_000);
  let t: TestApp;
  let officer: Awaited<ReturnType<typeof staffLogin>>;
  let other: Awaited<ReturnType<typeof staffLogin>>;
  let applicant: Awaited<ReturnType<typeof registerAndLogin>>;
  before(async () => {
    t = await makeTestApp();
    officer = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    other = await staffLogin(t, { role: 'officer', level: 'township', jurisdiction: ['430725101'] });
    applicant = await registerAndLogin(t.app);
  });
  after(() => t.close());

  const ROUNDS = 4;
  const CONCURRENCY = 20;

  async function claimedApplication(): Promise<string> {
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    await request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({}).expect(200);
    return sub.id;
  }

  interface RaceOutcome {
    statuses: number[];
    certificates: number;
    approvals: number;
  }

  async function outcome(id: string, statuses: number[]): Promise<RaceOutcome> {
    const app = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
    return {
      statuses,
      certificates: await t.ctx.models.Certificate.countDocuments({ applicationId: id }),
      approvals: app!.history.filter((h) => h.action === 'approve').length,
    };
  }

  function assertExactlyOne(o: RaceOutcome): void {
    assert.equal(o.statuses.filter((s) => s === 200).length, 1, `one success, got ${JSON.stringify(o.statuses)}`);
    assert.ok(o.statuses.every((s) => s === 200 || s === 409), `the rest 409, got ${JSON.stringify(o.statuses)}`);
    assert.equal(o.certificates, 1, 'exactly one certificate');
    assert.equal(o.approvals, 1, 'exactly one history entry');
  }

  it(`when the claim holder sends ${CONCURRENCY} approvals at once, then exactly one succeeds, the rest 409, one certificate, one history entry (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const id = await claimedApplication();
      const responses = await Promise.all(
        Array.from({ length: CONCURRENCY }, () =>
          request(t.app).post(`/api/v1/applications/${id}/decision`).set('Authorization', officer.auth).send({ action: 'approve', reason: '同意' }),
        ),
      );
      assertExactlyOne(await outcome(id, responses.map((r) => r.status)));
    }
  });

  it('when two officers claim at once, then exactly one holds the claim (repeated)', async () => {
    for (let round = 0; round < ROUNDS * 2; round += 1) {
      const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
      const [a, b] = await Promise.all(
        [officer, other].map((o) => request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', o.auth).send({})),
      );
      assert.deepEqual([a!.status, b!.status].sort(), [200, 409]);
      const app = await t.ctx.models.Application.findById(sub.id).lean<ApplicationDoc>();
      const winner = a!.status === 200 ? officer : other;
      assert.equal(app!.claim!.officerId, winner.id);
      assert.equal(app!.history.filter((h) => h.action === 'claim').length, 1);
    }
  });

  const seqOf = async (name: string): Promise<number> => ((await t.ctx.models.Counter.findById(name).lean()) as { seq?: number } | null)?.seq ?? 0;

  it(`when ${CONCURRENCY} submits of one draft race with different keys, then one wins and exactly one number is taken (${ROUNDS} rounds)`, async () => {
    const counter = `application:430725:${chinaDate(new Date()).slice(0, 4)}`;
    for (let round = 0; round < ROUNDS; round += 1) {
      const ready = await readyBirthService(t.app, applicant.auth);
      const before = await seqOf(counter);
      const responses = await Promise.all(
        Array.from({ length: CONCURRENCY }, (_, i) =>
          request(t.app).post(`/api/v1/applications/${ready.id}/submit`).set('Authorization', applicant.auth).set('Idempotency-Key', `race-${round}-${i}`).send({}),
        ),
      );
      const statuses = responses.map((r) => r.status);
      assert.equal(statuses.filter((s) => s === 200).length, 1, JSON.stringify(statuses));
      assert.ok(statuses.every((s) => s === 200 || s === 409), JSON.stringify(statuses));
      assert.equal(await seqOf(counter), before + 1, 'no number went to a loser');
      const app = await t.ctx.models.Application.findById(ready.id).lean<ApplicationDoc>();
      assert.equal(Number(app!.number!.slice(-6)), before + 1);
      assert.equal(app!.history.filter((h) => h.action === 'submit').length, 1);
    }
  });

  it(`when an approval races a withdrawal, then one of them wins whole: no serial taken by the loser, no issuing left behind (${ROUNDS * 2} rounds)`, async () => {
    const serials = `certificate:430725:${chinaDate(new Date()).slice(0, 4)}:BS`;
    for (let round = 0; round < ROUNDS * 2; round += 1) {
      const id = await claimedApplication();
      const before = await seqOf(serials);
      const [approve, withdraw] = await Promise.all([
        request(t.app).post(`/api/v1/applications/${id}/decision`).set('Authorization', officer.auth).send({ action: 'approve', reason: '同意' }),
        request(t.app).post(`/api/v1/applications/${id}/withdraw`).set('Authorization', applicant.auth).send({ reason: '不办了' }),
      ]);
      assert.deepEqual([approve.status, withdraw.status].sort(), [200, 409], `${approve.status}/${withdraw.status}`);
      const app = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
      assert.equal(app!.issuing ?? null, null, 'no issuing reservation is left');
      if (approve.status === 200) {
        assert.equal(app!.status, 'approved');
        assert.equal(await seqOf(serials), before + 1);
        assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: id }), 1);
      } else {
        assert.equal(app!.status, 'withdrawn');
        assert.equal(await seqOf(serials), before, 'the withdrawn case took no serial');
        assert.equal(await t.ctx.models.Certificate.countDocuments({ applicationId: id }), 0);
      }
    }
  });

  it(`when one officer sends ${CONCURRENCY} claims at once, then all succeed and the history has one claim line`, async () => {
    const sub = await submittedApplication(t.app, applicant.auth, 'birth-service', birthServiceForm());
    const responses = await Promise.all(
      Array.from({ length: CONCURRENCY }, () => request(t.app).post(`/api/v1/applications/${sub.id}/claim`).set('Authorization', officer.auth).send({})),
    );
    assert.ok(responses.every((r) => r.status === 200), JSON.stringify(responses.map((r) => r.status)));
    const app = await t.ctx.models.Application.findById(sub.id).lean<ApplicationDoc>();
    assert.equal(app!.claim!.officerId, officer.id);
    assert.equal(app!.history.filter((h) => h.action === 'claim').length, 1);
  });

  /**
   * The same race against a deliberately naive decision: read, check in memory, then save. It must
   * fail the assertions above; if it ever passed, the race test would not be testing anything.
   */
  it('when the decision is a naive read-then-save, then the same race test fails (the test bites)', async () => {
    async function naiveApprove(id: string): Promise<number> {
      const app = await t.ctx.models.Application.findById(id).lean<ApplicationDoc>();
      await barrier.wait();
      if (!app || app.status !== 'in_review' || app.claim?.officerId !== officer.id) return 409;
      const entry = { at: new Date(), actor: { id: officer.id, role: 'officer', name: 'x' }, channel: 'staff', action: 'approve', from: 'in_review', to: 'approved' };
      await t.ctx.models.Application.replaceOne({ _id: new Types.ObjectId(id) }, { ...app, status: 'approved', history: [...app.history, entry] });
      return 200;
    }
    class Barrier {
      private waiting: Array<() => void> = [];
      constructor(private readonly n: number) {}
      wait(): Promise<void> {
        return new Promise((resolve) => {
          this.waiting.push(resolve);
          if (this.waiting.length === this.n) this.waiting.forEach((r) => r());
        });
      }
    }
    const barrier = new Barrier(CONCURRENCY);
    const id = await claimedApplication();
    const statuses = await Promise.all(Array.from({ length: CONCURRENCY }, () => naiveApprove(id)));
    const o = await outcome(id, statuses);
    assert.throws(() => assertExactlyOne(o), 'the naive variant lets more than one approval through');
  });
});
