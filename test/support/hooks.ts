import fs from 'node:fs';
import mongoose from 'mongoose';
import { requireMarkedOperators, type DatabaseHandle } from '../../service/lib/database';
import { resolveDatabase } from '../../service/lib/devdatabase';
import { takeResponseProblems } from './responses';

// Every model compiled in the tests refuses a filter whose operators were not marked with trustedFilter().
mongoose.plugin(requireMarkedOperators);

/**
 * One throwaway database server for the whole run (FerretDB here, a real mongod or MONGODB_URI
 * elsewhere), resolved exactly as `npm start` resolves it, and stopped when the run ends.
 */
let handle: DatabaseHandle | undefined;

export function testDatabase(): DatabaseHandle {
  if (!handle) throw new Error('the test database is not started (test/support/hooks.ts)');
  return handle;
}

/** `uri` with its database name set to `dbName` (for a child process that connects by URI alone). */
export function testDatabaseUri(dbName: string): string {
  const url = new URL(testDatabase().uri);
  url.pathname = `/${dbName}`;
  return url.toString();
}

const TEST_FILE = /[\\/]test[\\/]([\w.-]+)\.test\.tsx?:\d+/;

/**
 * The database of the test file that is calling (`fpc_t_<file>`, or `fpc_t_<file>_<name>` for a
 * second one), found from the call stack so that no file has to name its own: each test file
 * starts on an empty database and leaves nothing in another file's way.
 */
export function fileDatabase(name?: string): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const file = stack.split('\n').map((line) => TEST_FILE.exec(line)?.[1]).find(Boolean);
  if (!file) throw new Error(`fileDatabase() is called from a test file (test/*.test.ts); the stack was:\n${stack}`);
  return ['fpc_t', file, name].filter(Boolean).join('_').replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60);
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(300_000);
    const quiet = { info: () => {}, warn: (o: object, m?: string) => console.warn(m ?? o), error: console.error };
    handle = await resolveDatabase({
      mongodbUri: process.env.MONGODB_URI,
      logger: { ...quiet, info: (o: object, m?: string) => (process.env.DEBUG_DB ? console.log(m, o) : undefined) },
    });
    console.log(`  test database: ${handle.kind}`);
  },
  /** A JSON answer that does not match its documented schema fails the test that received it. */
  afterEach() {
    const found = takeResponseProblems();
    if (found.length && process.env.RESPONSE_SURVEY) fs.appendFileSync(process.env.RESPONSE_SURVEY, `${found.join('\n')}\n`);
    else if (found.length) throw new Error(`responses that drift from the OpenAPI document:\n${found.join('\n')}`);
  },
  async afterAll() {
    await handle?.stop();
  },
};
