import assert from 'node:assert/strict';
import { Types } from 'mongoose';
import type { CommandStartedEvent } from 'mongodb';
import { connect } from '../service/lib/database';
import { fileDatabase, testDatabase } from './support/hooks';

/**
 * What keeps the embedded database fast as data grows (issue 15): our FerretDB wrapper's index on
 * FerretDB's own `_id` expression, and conditional single-document writes sent by `_id` alone.
 */
describe('Database at scale: _id index and writes by _id', () => {
  const dbName = fileDatabase();

  it('when a collection exists on FerretDB, then our wrapper indexes the exact _id expression and SQLite SEARCHes it', async function () {
    const db = testDatabase();
    if (db.kind !== 'ferretdb') this.skip();
    const conn = await connect(db.uri, dbName);
    try {
      await conn.db!.collection('probe').insertOne({ _id: 'a', n: 1 } as never);
      const created = await db.indexIds!();
      assert.ok(created >= 1, 'the new collection got its index');
      assert.equal(await db.indexIds!(), 0, 'asking again creates nothing');
      const plan = await db.idLookupPlan!(dbName, 'probe');
      assert.match(plan, /^SEARCH \S+ USING INDEX \S+_fpc_id /, plan);
      // A database dropped and made again under its name is a new file: it is indexed too.
      await conn.db!.dropDatabase();
      await conn.db!.collection('probe').insertOne({ _id: 'b', n: 2 } as never);
      await db.indexIds!();
      assert.match(await db.idLookupPlan!(dbName, 'probe'), /^SEARCH \S+ USING INDEX \S+_fpc_id /);
    } finally {
      await conn.db!.dropDatabase().catch(() => undefined);
      await conn.close();
    }
  });

  it('when a conditional update pins _id, then on FerretDB only {_id} reaches the server and the condition still decides', async () => {
    const db = testDatabase();
    const conn = await connect(db.uri, dbName, { monitorCommands: true });
    const sent: CommandStartedEvent[] = [];
    conn.getClient().on('commandStarted', (e) => sent.push(e));
    try {
      const Thing = conn.model('Thing', new (await import('mongoose')).Schema({ status: String, items: [{ _id: false, id: String, ok: Boolean }], n: Number }, { collection: 'things', versionKey: false }));
      const id = new Types.ObjectId();
      await Thing.create({ _id: id, status: 'pending', items: [{ id: 'x', ok: false }], n: 0 });
      sent.length = 0;
      const won = await Thing.findOneAndUpdate({ _id: id.toString(), status: 'pending' }, { $set: { status: 'done' }, $inc: { n: 1 } }, { returnDocument: 'after' }).lean();
      const lost = await Thing.findOneAndUpdate({ _id: id, status: 'pending' }, { $set: { status: 'again' } }).lean();
      const notMatched = await Thing.updateOne({ _id: id, 'items.id': 'y' }, { $set: { n: 99 } });
      const arrayCondition = await Thing.updateOne({ _id: id, 'items.id': 'x' }, { $set: { items: [{ id: 'x', ok: true }] } });
      await assert.rejects(Thing.updateOne({ _id: id, status: { $ne: 'nothing' } }, { $set: { n: 50 } }), /Cast to string failed/, 'an operator from a client stays a literal');
      assert.equal(won?.status, 'done');
      assert.equal(lost, null);
      assert.equal(notMatched.modifiedCount, 0);
      assert.equal(arrayCondition.modifiedCount, 1);
      const stored = await Thing.findById(id).lean();
      assert.deepEqual({ status: stored?.status, n: stored?.n, items: stored?.items }, { status: 'done', n: 1, items: [{ id: 'x', ok: true }] });
      const writes = sent.filter((e) => e.commandName === 'findAndModify' || e.commandName === 'update');
      const filters = writes.map((e) => Object.keys((e.command.query ?? e.command.updates[0].q) as object).sort().join(','));
      if (db.kind === 'ferretdb') assert.deepEqual(filters, ['_id', '_id', '_id', '_id']);
      else assert.deepEqual(filters, ['_id,status', '_id,status', '_id,items.id', '_id,items.id'], 'MongoDB gets the filters as written');
    } finally {
      await conn.db!.dropDatabase().catch(() => undefined);
      await conn.close();
    }
  });
});
