import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testKeys, uniqueIdNumber } from './support/app';
import { startServer } from './support/server-process';

/** `npm start` on its embedded database: data in DATA_DIR survives a restart; SIGTERM stops everything. */
describe('Embedded database across restarts', function () {
  this.timeout(180_000);

  before(function () {
    if (process.env.MONGODB_URI) this.skip(); // the embedded path is only taken without MONGODB_URI
  });

  const processesUsing = (dir: string): string[] => {
    try {
      return execFileSync('pgrep', ['-f', dir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };

  it('when the service is stopped with SIGTERM and started again, then what was stored is still there and no database process is left behind', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-persist-'));
    const env = { DATA_DIR: dataDir, KEYS_DIR: testKeys().dir, UPLOADS_DIR: path.join(dataDir, 'uploads'), MONGODB_URI: '' };
    const idNumber = uniqueIdNumber();

    const first = await startServer(env);
    const reg = await fetch(`${first.url}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ idNumber, name: '孙丽', phone: '13700000000', password: 'kept across restarts' }),
    });
    assert.equal(reg.status, 201);
    assert.ok(fs.existsSync(path.join(dataDir, 'db.json')), 'the running service says which database it started');
    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null }, 'a clean shutdown');
    assert.deepEqual(processesUsing(path.join(dataDir, 'ferretdb')), [], 'the database it started is stopped too');
    assert.ok(!fs.existsSync(path.join(dataDir, 'db.json')));

    const second = await startServer(env);
    try {
      const login = await fetch(`${second.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ idNumber, password: 'kept across restarts' }),
      });
      assert.equal(login.status, 200);
    } finally {
      await second.stop();
    }
  });
});
