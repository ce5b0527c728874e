import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { run } from '../service/cli/admin';
import { makeTestApp, testConfig, type TestApp } from './support/app';
import { testDatabaseUri } from './support/hooks';

describe('Admin command-line tool', function () {
  this.timeout(60_000);
  let t: TestApp;
  const config = () => testConfig({ MONGODB_URI: testDatabaseUri(t.conn.name) });
  before(async () => {
    t = await makeTestApp();
  });
  after(() => t.close());

  it('when an officer is created, then they sign in with the printed password and carry level and jurisdiction', async () => {
    const username = `cli${crypto.randomBytes(4).toString('hex')}`;
    const out = await run(['create-officer', '--username', username, '--name', '赵敏', '--level', 'county', '--jurisdiction', '430725'], config());
    const password = /password: (\S+)/.exec(out)?.[1];
    assert.ok(password);
    const login = await request(t.app).post('/api/v1/auth/login').send({ username, password }).expect(200);
    assert.equal(login.body.role, 'officer');
    const me = await request(t.app).get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
    assert.equal(me.body.level, 'county');
    assert.deepEqual(me.body.jurisdiction, ['430725']);

    await run(['disable', '--username', username], config());
    await request(t.app).get('/api/v1/auth/me').set('Authorization', `Bearer ${login.body.accessToken}`).expect(401);
  });

  it('when a terminal is registered, then its one-time secret buys a token for its township', async () => {
    const out = await run(['create-terminal', '--township', '430725202', '--name', '某乡便民服务中心'], config());
    const terminalId = /terminalId: (\S+)/.exec(out)?.[1];
    const secret = /secret: (\S+)/.exec(out)?.[1];
    assert.ok(terminalId && secret);
    const stored = await t.ctx.models.Terminal.findOne({ terminalId }).lean();
    assert.ok(stored && !stored.secretHash.includes(secret));
    const res = await request(t.app).post('/api/v1/auth/terminal-token').send({ terminalId, secret }).expect(200);
    assert.equal(res.body.role, 'terminal');
  });

  it('when staff and terminals are listed, then each shows role, scope and state but never a secret', async () => {
    const username = `lst${crypto.randomBytes(4).toString('hex')}`;
    await run(['create-officer', '--username', username, '--name', '钱进', '--level', 'township', '--jurisdiction', '430725101', '--password', 'listed-password-1'], config());
    await run(['disable', '--username', username], config());
    const out = await run(['list'], config());
    const line = out.split('\n').find((l) => l.includes(username));
    assert.ok(line);
    assert.match(line, /officer\/township\s+430725101\s+钱进\s+DISABLED/);
    assert.match(out, /terminals:/);
    assert.doesNotMatch(out, /listed-password-1|scrypt\$/);
  });

  it('when the input is wrong, then it refuses with a clear message and creates nothing', async () => {
    const before = await t.ctx.models.Account.countDocuments();
    await assert.rejects(run(['create-officer', '--username', 'abc', '--name', 'x', '--level', 'village', '--jurisdiction', '430725'], config()), /level/);
    await assert.rejects(run(['create-officer', '--username', 'abcd', '--name', 'x', '--level', 'township'], config()), /--jurisdiction is required/);
    await assert.rejects(run(['create-terminal', '--township', '4307', '--name', 'x'], config()), /township/);
    assert.equal(await t.ctx.models.Account.countDocuments(), before);
  });
});
