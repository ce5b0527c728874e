import assert from 'node:assert/strict';
import { trustedFilter, unmarkedOperator } from '../service/lib/database';
import { makeTestApp, type TestApp } from './support/app';

describe('Our query operators are marked (the test-only guard)', () => {
  let t: TestApp;
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  it('when a filter uses an operator without trustedFilter(), then the query fails loudly in tests instead of matching nothing', async () => {
    await assert.rejects(t.ctx.models.Application.find({ status: { $in: ['pending'] } }).lean(), /"status" is not marked with trustedFilter\(\)/);
    await assert.rejects(t.ctx.models.Application.countDocuments({ $or: [{ status: { $ne: 'draft' } }] }), /"\$or\[0\]\.status"/);
    await t.ctx.models.Application.find(trustedFilter({ status: { $in: ['pending'] }, $or: [{ status: { $ne: 'draft' } }] })).lean();
  });

  it('when values are plain (strings, dates, ids) or only $eq, then nothing is flagged', () => {
    assert.equal(unmarkedOperator({ a: 'x', b: new Date(), c: { $eq: { $ne: 1 } }, d: [1, 2] }), undefined);
    assert.equal(unmarkedOperator({ a: { $gt: 1 } }), 'a');
  });
});
