import assert from 'node:assert/strict';
import type { Principal } from '../service/lib/auth';
import { trustedFilter } from '../service/lib/database';
import { QUEUE_SORT, queueScope } from '../service/review/review.service';
import { makeTestApp, type TestApp } from './support/app';

const township: Principal = { role: 'officer', id: 'o1', name: 'x', channel: 'staff', level: 'township', jurisdiction: ['430725101', '430725102'] };
const county: Principal = { role: 'officer', id: 'o2', name: 'y', channel: 'staff', level: 'county', jurisdiction: ['430725'] };

describe('Officer queue and its index', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  const queueIndex = (): string[] => {
    const indexes = t.ctx.models.QueueEntry.schema.indexes() as Array<[Record<string, number>, unknown]>;
    const found = indexes.find(([keys]) => 'queueDeadline' in keys);
    assert.ok(found, 'the queue index is declared');
    return Object.keys(found[0]);
  };

  it('when officers of either level read their queue, then every filter field is an equality or $in on the index prefix and the sort is its suffix', () => {
    const fields = queueIndex();
    const sort = Object.keys(QUEUE_SORT);
    assert.deepEqual(fields.slice(-sort.length), sort, 'the index ends with the sort fields');
    for (const p of [township, county]) {
      const scope = queueScope(p);
      const filterFields = Object.keys(scope);
      assert.deepEqual(filterFields.sort(), fields.slice(0, fields.length - sort.length).sort(), `${p.level}: the filter covers the index prefix`);
      for (const field of filterFields) {
        const v = scope[field] as Record<string, unknown> | string;
        assert.ok(typeof v === 'string' || '$in' in v, `${p.level}: ${field} is an equality or $in, not a range or regex`);
      }
    }
  });

  it('when run on MongoDB, then the queue query uses the index (no collection scan)', async function () {
    const info = await t.conn.db!.admin().command({ buildInfo: 1 });
    if (info.ferretdbVersion !== undefined) this.skip(); // FerretDB plans every query as a scan: nothing to learn here
    const plan = await t.ctx.models.QueueEntry.find(trustedFilter(queueScope(township))).sort(QUEUE_SORT).limit(20).explain('queryPlanner');
    const text = JSON.stringify(plan);
    assert.match(text, /IXSCAN/);
    assert.doesNotMatch(text, /COLLSCAN/);
  });
});
