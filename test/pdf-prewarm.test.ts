import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../service/config';
import { loadPolicy } from '../service/eligibility/policy';
import { systemClock } from '../service/lib/clock';
import { loadKeys } from '../service/lib/keys';
import { prewarmPdf } from '../service/pdf/document';
import { instancedSlices } from '../service/pdf/fonts';

/** The server readies its PDF fonts after it listens (service/server.ts): what that leaves behind. */
describe('PDF pre-warming', function () {
  this.timeout(180_000);

  it('when the PDF writer is pre-warmed, then every font slice is instanced at both weights and a signed throwaway document was written', async () => {
    const keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-prewarm-'));
    try {
      const config = loadConfig({ NODE_ENV: 'test', KEYS_DIR: keysDir });
      const ctx = { keys: loadKeys(keysDir, true), clock: systemClock, policy: loadPolicy(config.schemasDir) };
      const { slices } = await prewarmPdf(ctx);
      const css = fs.readFileSync(require.resolve('@fontsource-variable/noto-serif-sc/index.css'), 'utf8');
      const declared = (css.match(/@font-face/g) ?? []).length;
      assert.equal(slices, 2 * declared, 'each slice of the package, regular and bold');
      assert.equal(instancedSlices(), slices, 'all of them held instanced');
    } finally {
      fs.rmSync(keysDir, { recursive: true, force: true });
    }
  });

  it('when the service runs under test, then it does not pre-warm unless asked; elsewhere it does', () => {
    assert.equal(loadConfig({ NODE_ENV: 'test' }).pdfPrewarm, false);
    assert.equal(loadConfig({ NODE_ENV: 'test', PDF_PREWARM: 'true' }).pdfPrewarm, true);
    assert.equal(loadConfig({ NODE_ENV: 'development' }).pdfPrewarm, true);
  });
});
