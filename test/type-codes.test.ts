import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TYPE_CODES } from '../service/catalogue/catalogue';
import { loadConfig } from '../service/config';

/**
 * One list of certificate types: the catalogue's `TYPE_CODES`. Two places cannot import it (the
 * meta-schema the catalogue files are checked against is JSON; the configuration's placeholder
 * e-licence codes are keyed by type), so they are checked against it here, and any other file that
 * spells out the whole list fails: it should take the list from the catalogue.
 */
const ROOT = path.join(__dirname, '..');
const COPIES = ['service/catalogue/catalogue.ts', 'service/config.ts', 'schemas/meta/common.schema.json'];

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return /\.(tsx?|json)$/.test(e.name) ? [p] : [];
  });
}

/** The files with a line naming every type: a copy of the list. */
function listsIn(dirs: string[]): string[] {
  return dirs
    .flatMap((d) => files(path.join(ROOT, d)))
    .filter((f) => fs.readFileSync(f, 'utf8').split('\n').some((line) => TYPE_CODES.every((code) => line.includes(`'${code}'`) || line.includes(`"${code}"`))))
    .map((f) => path.relative(ROOT, f))
    .sort();
}

describe('One list of certificate types', () => {
  it('when the catalogue meta-schema names the types, then it names exactly the catalogue’s TYPE_CODES, in order', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas/meta/common.schema.json'), 'utf8')) as { $defs: Record<string, { enum?: string[] }> };
    assert.deepEqual(meta.$defs.typeCode?.enum, [...TYPE_CODES]);
  });

  it('when no e-licence codes are configured, then the placeholders cover exactly the catalogue’s TYPE_CODES', () => {
    assert.deepEqual(Object.keys(loadConfig({}).eLicence.typeCodes).sort(), [...TYPE_CODES].sort());
  });

  it('when the service and the schemas are searched, then the whole list is spelled out only in the catalogue and the two places checked above', () => {
    assert.deepEqual(listsIn(['service', 'schemas']), [...COPIES].sort());
  });

  it('when a file spells the list out (the search itself), then it is found', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'test', '.tmp-types-'));
    try {
      fs.writeFileSync(path.join(dir, 'x.routes.ts'), `const types = { enum: [${TYPE_CODES.map((c) => `'${c}'`).join(', ')}] };\n`);
      assert.deepEqual(listsIn([path.relative(ROOT, dir)]), [path.relative(ROOT, path.join(dir, 'x.routes.ts'))]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
