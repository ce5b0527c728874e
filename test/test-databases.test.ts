import assert from 'node:assert/strict';
import { connect } from '../service/lib/database';
import { makeTestApp } from './support/app';
import { fileDatabase, testDatabase } from './support/hooks';

describe('Test support: a database per test file', () => {
  it('when a test file makes apps, then they share the file’s own database, and a named second one is apart', async () => {
    const [a, b, other] = [await makeTestApp(), await makeTestApp(), await makeTestApp({ database: 'other' })];
    try {
      assert.equal(a.conn.name, 'fpc_t_test_databases');
      assert.equal(fileDatabase(), 'fpc_t_test_databases');
      assert.equal(other.conn.name, 'fpc_t_test_databases_other');
      await a.conn.db!.collection('probe').insertOne({ n: 1 });
      assert.equal(await b.conn.db!.collection('probe').countDocuments(), 1);
      assert.equal(await other.conn.db!.collection('probe').countDocuments(), 0);
    } finally {
      await Promise.all([a, b, other].map((t) => t.close()));
    }
  });

  it('when a file’s database holds something from an earlier run, then its first app starts empty', async () => {
    const earlier = await connect(testDatabase().uri, 'fpc_t_test_databases_rerun');
    await earlier.db!.collection('applications').insertOne({ left: 'over' });
    await earlier.close();
    const t = await makeTestApp({ database: 'rerun' });
    try {
      assert.equal(await t.ctx.models.Application.countDocuments(), 0);
    } finally {
      await t.close();
    }
  });
});
