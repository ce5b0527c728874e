import assert from 'node:assert/strict';
import request from 'supertest';
import type { DatabaseHandle } from '../service/lib/database';
import { resolveDatabase } from '../service/lib/devdatabase';
import { makeTestApp, type TestApp } from './support/app';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe('Database outage', function () {
  this.timeout(120_000);
  let db: DatabaseHandle;
  let t: TestApp;

  before(async function () {
    if (process.env.MONGODB_URI) this.skip(); // an external server cannot be stopped from here
    db = await resolveDatabase({ logger: quiet });
    t = await makeTestApp({ uri: db.uri });
  });
  after(async () => {
    await t?.close();
    await db?.stop();
  });

  it('when the database stops, then readiness goes red and requests fail fast with 503; when it returns, both recover without a restart', async () => {
    await request(t.app).get('/readyz').expect(200);
    await request(t.app).post('/api/v1/auth/login').send({ username: 'nobody', password: 'x' }).expect(401);

    await db.pause();
    const red = await request(t.app).get('/readyz').expect(503);
    assert.equal(red.body.code, 'database_unavailable');
    assert.match(red.headers['content-type'], /application\/problem\+json/);
    const started = Date.now();
    const failed = await request(t.app).post('/api/v1/auth/login').send({ username: 'nobody', password: 'x' });
    assert.equal(failed.status, 503);
    assert.equal(failed.body.code, 'database_unavailable');
    assert.ok(Date.now() - started < 5_000, 'fails fast instead of hanging');
    await request(t.app).get('/healthz').expect(200);

    await db.resume();
    const green = await eventually(async () => (await request(t.app).get('/readyz')).status === 200, 30_000);
    assert.ok(green, 'readiness recovers');
    await request(t.app).post('/api/v1/auth/login').send({ username: 'nobody', password: 'x' }).expect(401);
  });
});
