import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../service/config';
import { KeyConfigError, loadKeys } from '../service/lib/keys';

describe('Configuration', () => {
  it('when nothing is set, then development defaults: port 3000, data in ./data', () => {
    const c = loadConfig({});
    assert.equal(c.env, 'development');
    assert.equal(c.port, 3000);
    assert.ok(c.dataDir.endsWith(`${path.sep}data`));
    assert.ok(c.seedDemoData);
    assert.ok(Object.isFrozen(c));
  });

  it('when PORT and DATA_DIR are set, then they are used', () => {
    const c = loadConfig({ PORT: '8081', DATA_DIR: '/tmp/fpc-x' });
    assert.equal(c.port, 8081);
    assert.equal(c.dataDir, '/tmp/fpc-x');
    assert.equal(c.keysDir, '/tmp/fpc-x/keys');
    // Uploads live with the instance's data: two instances started from one checkout do not share (and sweep) one folder.
    assert.equal(c.uploadsDir, '/tmp/fpc-x/uploads');
    assert.equal(loadConfig({ DATA_DIR: '/tmp/fpc-x', UPLOADS_DIR: '/srv/uploads' }).uploadsDir, '/srv/uploads');
    assert.equal(c.terminalWindowSeconds, 3600);
    assert.throws(() => loadConfig({ TERMINAL_WINDOW_SECONDS: '86400' }), /TERMINAL_WINDOW_SECONDS/);
  });

  it('when values are bad, then every problem is named at once', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', NODE_ENV: 'staging', MONGODB_URI: 'postgres://x' }),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 3 && /PORT/.test(err.message) && /NODE_ENV/.test(err.message),
    );
  });

  it('when production lacks the database, keys or public URL, then it refuses to start', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'production' }), (err: unknown) => err instanceof ConfigError && err.problems.length === 3);
    const ok = loadConfig({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db/fpc', KEYS_DIR: '/run/keys', PUBLIC_BASE_URL: 'https://fpc.example.gov.cn' });
    assert.equal(ok.seedDemoData, false);
  });

  it('when production has no key files, then keys are not generated but refused with a clear message', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-nokeys-'));
    assert.throws(() => loadKeys(dir, false), (err: unknown) => err instanceof KeyConfigError && /new-key access/.test((err as Error).message));
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
