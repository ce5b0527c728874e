import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadPolicy, PolicyError } from '../service/eligibility/policy';
import { FixedClock } from '../service/lib/clock';
import { deadlineFor, rollToWorkingDay } from '../service/lib/workdays';
import { makeTestApp, registerAndLogin, type TestApp } from './support/app';
import { rebirthPermitForm, submittedApplication } from './support/forms';

const SCHEMAS = path.resolve(__dirname, '..', 'schemas');

describe('time limits that keep the promise', () => {
  it('when every type and stage of the catalogue is read, then its committed limit is at most two thirds of the statutory one, in the same unit', () => {
    const policy = loadPolicy(SCHEMAS);
    const stages = policy.types.flatMap((t) => t.stages.map((s) => ({ type: t.code, ...s })));
    assert.ok(stages.length >= 5);
    for (const s of stages) {
      assert.equal(s.committed.unit, s.statutory.unit, `${s.type}/${s.id}`);
      assert.ok(s.committed.value * 3 <= s.statutory.value * 2, `${s.type}/${s.id}: ${s.committed.value} of ${s.statutory.value}`);
    }
    const rebirth = policy.type('rebirth-permit')!.stages.map((s) => [s.statutory, s.committed]);
    assert.deepEqual(rebirth, [
      [{ value: 15, unit: 'calendar_days' }, { value: 10, unit: 'calendar_days' }],
      [{ value: 15, unit: 'calendar_days' }, { value: 10, unit: 'calendar_days' }],
    ]);
  });

  it('when a catalogue commits 10 working days against 15 calendar days, then the catalogue is refused at start-up', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-schemas-'));
    fs.cpSync(SCHEMAS, dir, { recursive: true });
    const file = path.join(dir, 'catalogue', 'rebirth-permit.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"committed": { "value": 10, "unit": "calendar_days" }', '"committed": { "value": 10, "unit": "working_days" }'));
    assert.throws(() => loadPolicy(dir), (e: unknown) => e instanceof PolicyError && e.problems.some((p) => /stage township-review commits 10 working_days, more than two thirds of 15 calendar_days/.test(p)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('Civil Code art. 203: a limit in calendar days ending on a rest day ends on the next working day', () => {
    const cases: [string, string, number, string][] = [
      ['ending on a Wednesday', '2025-03-04', 15, '2025-03-19'],
      ['ending on a Sunday', '2025-03-01', 15, '2025-03-17'],
      ['ending in the 2025 National Day holiday (1–8 Oct)', '2025-09-20', 15, '2025-10-09'],
      ['ending on Saturday 8 Feb 2025, a declared working day', '2025-01-24', 15, '2025-02-08'],
      ['ending on the last day of the holiday, 8 Oct 2025', '2025-09-23', 15, '2025-10-09'],
    ];
    for (const [what, from, days, expected] of cases) {
      it(`when ${days} calendar days from ${from} end ${what}, then the deadline is ${expected}`, () => {
        assert.equal(deadlineFor(from, { value: days, unit: 'calendar_days' }), expected);
      });
    }
    it('when the day is a working day, then it stays; a working-day limit never rolls', () => {
      assert.equal(rollToWorkingDay('2025-10-09'), '2025-10-09');
      assert.equal(deadlineFor('2025-09-26', { value: 2, unit: 'working_days' }), '2025-09-29');
    });
  });

  describe('the whole case date (HTTP)', () => {
    let t: TestApp;
    const clock = new FixedClock('2025-09-19T02:00:00Z');
    before(async () => {
      t = await makeTestApp({ clock });
    });
    after(() => t.close());

    it('when a two-stage re-birth permit is submitted, then the resident is told the date of the whole case, counted on from the first stage', async () => {
      const { auth, idNumber } = await registerAndLogin(t.app);
      const app = await submittedApplication(t.app, auth, 'rebirth-permit', rebirthPermitForm());
      const view = (await request(t.app).get(`/api/v1/applications/${app.id}`).set('Authorization', auth).expect(200)).body;
      // Fri 19 Sep 2025 + 10 calendar days = Mon 29 Sep (township); + 10 = Thu 9 Oct, already past the holiday.
      assert.equal(view.stage.committedDeadline, '2025-09-29');
      assert.equal(view.caseDeadline, '2025-10-09');
      const status = await request(t.app).post('/api/v1/status').send({ number: view.number, idNumber }).expect(200);
      assert.equal(status.body.caseDeadline, '2025-10-09');
    });
  });
});

describe('the pre-check at a past date (a late application: the rules on the day of the birth)', () => {
  let t: TestApp;
  const clock = new FixedClock('2026-03-02T02:00:00Z');
  before(async () => {
    t = await makeTestApp({ clock });
  });
  after(() => t.close());
  const check = (body: object, lang = 'zh') => request(t.app).post('/api/v1/certificate-types/birth-service/eligibility-check').set('Accept-Language', lang).send(body);

  /** Two children already: a third is registered under regime D (2021-05-31), refused under C (2016). */
  const form = () => {
    const f = rebirthPermitForm() as Record<string, unknown>;
    delete f.ground;
    (f.children as unknown[]).pop();
    return f;
  };

  it('when the same form is checked as of 2020-06-01 and today, then regime C and D answer, and the past one is labelled as such', async () => {
    const past = (await check({ form: form(), asOf: '2020-06-01' }).expect(200)).body;
    assert.equal(past.regime.id, 'C');
    assert.equal(past.day, '2020-06-01');
    assert.equal(past.eligible, false);
    assert.equal(past.asOf.pastDate, true);
    assert.match(past.asOf.label, /^历史日期预审：按 2020-06-01 施行的规则/);
    assert.match(past.asOf.labels.en, /not under today's/);
    const now = (await check({ form: form() }).expect(200)).body;
    assert.equal(now.regime.id, 'D');
    assert.equal(now.eligible, true);
    assert.equal(now.asOf, undefined);
  });

  it('when asOf is tomorrow or not a date, then 400 names asOf; before every regime, 422', async () => {
    const tomorrow = await check({ form: form(), asOf: '2026-03-03' }).expect(400);
    assert.deepEqual(tomorrow.body.errors.map((e: { path: string }) => e.path), ['asOf']);
    await check({ form: form(), asOf: '2020-02-30' }).expect(400);
    await check({ form: form(), asOf: '1999-01-01' }).expect(422);
  });
});
