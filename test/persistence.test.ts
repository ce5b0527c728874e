import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
    // The SMS gateway: the service posts the registration code here, as it would to the county's gateway.
    const texts: string[] = [];
    const gateway = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        texts.push((JSON.parse(body) as { text: string }).text);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    after(() => gateway.close());
    const gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms`;
    const env = {
      DATA_DIR: dataDir,
      KEYS_DIR: testKeys().dir,
      UPLOADS_DIR: path.join(dataDir, 'uploads'),
      MONGODB_URI: '',
      NOTIFY_WEBHOOK_URL: gatewayUrl,
      NOTIFY_WEBHOOK_SECRET: 'a-shared-secret-of-the-gateway',
    };
    const idNumber = uniqueIdNumber();
    const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

    const first = await startServer(env);
    assert.equal((await post(`${first.url}/api/v1/auth/phone-code`, { purpose: 'register', phone: '13700000000' })).status, 202);
    const code = /验证码：(\d{6})/.exec(texts.at(-1) ?? '')?.[1];
    assert.ok(code, 'the gateway received the code');
    const reg = await post(`${first.url}/api/v1/auth/register`, { idNumber, name: '孙丽', phone: '13700000000', password: 'kept across restarts', code });
    assert.equal(reg.status, 202);
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
