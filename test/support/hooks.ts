import mongoose from 'mongoose';
import { requireMarkedOperators, resolveDatabase, type DatabaseHandle } from '../../service/lib/database';

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
  async afterAll() {
    await handle?.stop();
  },
};
