import mongoose, { type Connection, type Types } from 'mongoose';
import sift from 'sift';

/**
 * The production side of the database: connect to MONGODB_URI and go. The servers that development
 * and the tests start when there is no MONGODB_URI (a mongod, or FerretDB over SQLite) are in
 * `devdatabase.ts`, loaded only then.
 */

/** Keep every query to the filter the code wrote: operator objects from clients become literals. */
mongoose.set('sanitizeFilter', true);
mongoose.set('strictQuery', true);

export type DatabaseKind = 'uri' | 'mongodb-memory-server' | 'ferretdb';

export interface DatabaseHandle {
  kind: DatabaseKind;
  uri: string;
  /** Stops the server this process started (nothing for an external URI). */
  stop(): Promise<void>;
  /** Stops the server but keeps its address and data (outage tests). */
  pause(): Promise<void>;
  /** Starts a paused server again on the same address and data. */
  resume(): Promise<void>;
  /**
   * FerretDB only: makes our wrapper index FerretDB's `_id` expression on every collection table now
   * (it also does so every two seconds by itself); resolves to how many indexes it created.
   */
  indexIds?(): Promise<number>;
  /** FerretDB only: SQLite's query plan for a lookup by `_id` in one collection (tests). */
  idLookupPlan?(dbName: string, collection: string): Promise<string>;
}

/** A database this process did not start: nothing to stop, pause or resume. */
export const external = { stop: async () => {}, pause: async () => {}, resume: async () => {} };

/**
 * Opens a connection that fails fast while the database is away (no command buffering, short
 * server selection), so requests answer 503 at once and the driver reconnects by itself.
 */
export async function connect(uri: string, dbName?: string, opts: { monitorCommands?: boolean } = {}): Promise<Connection> {
  const fromUri = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri)?.[1];
  const conn = mongoose.createConnection(uri, {
    monitorCommands: opts.monitorCommands ?? false,
    dbName: dbName ?? (fromUri ? decodeURIComponent(fromUri) : 'fpc'),
    bufferCommands: false,
    serverSelectionTimeoutMS: 2_000,
    heartbeatFrequencyMS: 2_000,
    autoIndex: false,
    maxPoolSize: 50,
  });
  await conn.asPromise();
  if (await isFerretDb(conn)) conn.plugin(serializeWritesPlugin);
  return conn;
}

/** FerretDB: one service process owns the database (see serializeWritesPlugin). */
export async function isFerretDb(conn: Connection): Promise<boolean> {
  const info = await conn.db!.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string' || Array.isArray(info.ferretdbFeatures);
}

/**
 * FerretDB 1.24's SQLite handler applies an update in two steps, a query and then a write by _id,
 * outside a transaction (FerretDB issue #3040): two conditional updates racing on one document can
 * both match. MongoDB applies each single-document update atomically, which every invariant here
 * relies on. So on FerretDB, and only there, writes to a collection are serialised inside this
 * process; the conditional filters then decide exactly as MongoDB would. (Inserts need nothing:
 * SQLite enforces unique indexes itself.) Consequence: two service processes must not share one
 * FerretDB; production runs on MongoDB.
 */
const WRITE_OPS = ['findOneAndUpdate', 'updateOne', 'updateMany', 'replaceOne', 'findOneAndReplace', 'findOneAndDelete', 'deleteOne', 'deleteMany'] as const;
const collectionLocks = new Map<string, Promise<void>>();
const RELEASE = Symbol('release');

async function acquire(name: string): Promise<() => void> {
  const previous = collectionLocks.get(name) ?? Promise.resolve();
  let release!: () => void;
  const current = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => current);
  collectionLocks.set(name, tail);
  await previous;
  return () => {
    release();
    if (collectionLocks.get(name) === tail) collectionLocks.delete(name);
  };
}

/**
 * FerretDB pushes a filter down to SQLite only when it is exactly `{_id: <string or ObjectId>}`;
 * anything more (`{_id, status}`: every compare-and-set transition) decodes the whole collection in
 * Go. So, under the collection's lock (nothing else in this process writes to it in between), a
 * single-document write whose filter pins `_id` by equality is decided here: the document is read
 * by `_id`, the full filter is matched against it in memory with sift (the matcher Mongoose uses),
 * and the write is sent as `{_id}` if it matches or as a filter that matches nothing if not. The
 * outcome is the one the full filter would have had.
 *
 * The filter is sanitised and cast first, exactly as Mongoose does before sending it (so an
 * operator smuggled in from a client stays a literal, and string ids compare as ObjectIds). Upserts
 * are left alone (a miss must insert, with the filter's fields). The positional `$` operator, whose
 * array element the filter chooses, cannot occur: FerretDB 1.24 rejects it ("Cannot create field '$'").
 */
async function narrowToId(query: mongoose.Query<unknown, unknown>): Promise<void> {
  if (query.getOptions().upsert) return;
  const raw = query.getFilter() as Record<string, unknown>;
  if (Object.keys(raw).length < 2 || !('_id' in raw)) return;
  let filter: Record<string, unknown>;
  try {
    mongoose.sanitizeFilter(raw);
    filter = query.cast(query.model, raw) as Record<string, unknown>;
  } catch {
    return; // Mongoose reports the cast error itself when the query runs.
  }
  const id = filter._id;
  if (!(id instanceof mongoose.Types.ObjectId) && typeof id !== 'string') return;
  const doc = await query.model.findById(id).lean();
  query.setQuery(doc && sift(filter)(doc) ? { _id: id } : { _id: typeof id === 'string' ? `${id}\u0000no-match` : new mongoose.Types.ObjectId() });
}

function serializeWritesPlugin(schema: mongoose.Schema): void {
  type Locked = mongoose.Query<unknown, unknown> & { [RELEASE]?: () => void };
  const unlock = (q: Locked): void => {
    q[RELEASE]?.();
    delete q[RELEASE];
  };
  for (const op of WRITE_OPS) {
    schema.pre(op, async function (this: Locked) {
      this[RELEASE] = await acquire(this.model.collection.collectionName);
      await narrowToId(this);
    });
    schema.post(op, function (this: Locked) {
      unlock(this);
    });
    const onError = function (this: Locked, error: unknown, _res: unknown, next: (err?: unknown) => void) {
      unlock(this);
      next(error);
    };
    (schema.post as (op: string, fn: typeof onError) => void)(op, onError);
  }
}

/**
 * A filter written by our code, not taken from a request: its `$` operators are trusted.
 * sanitizeFilter (on, above) turns any `$` operator in a filter into a literal unless the object
 * holding it is marked like this, so an operator smuggled in from a client can never reach a query.
 * Marks every nested operator object. Called by the store modules and the access module (scope
 * filters); a filter with operators that reaches a query without it fails the tests
 * (`requireMarkedOperators`) instead of silently matching nothing.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a filter of our own making fits any model
export function trustedFilter(filter: object): mongoose.QueryFilter<any> {
  const mark = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(mark);
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const copy = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mark(v)]));
      return mongoose.trusted(copy);
    }
    return value;
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  return mark(filter) as mongoose.QueryFilter<any>;
}

const FILTER_OPS = ['countDocuments', 'deleteMany', 'deleteOne', 'distinct', 'find', 'findOne', 'findOneAndDelete', 'findOneAndReplace', 'findOneAndUpdate', 'replaceOne', 'updateMany', 'updateOne'] as const;

const isTrusted = (value: unknown): boolean =>
  !!value && typeof value === 'object' && Object.getOwnPropertySymbols(value).some((s) => s.description === 'mongoose#trustedSymbol');

/** Where sanitizeFilter would silently turn one of our operators into a literal, the path to it. */
export function unmarkedOperator(filter: unknown, path = ''): string | undefined {
  if (!filter || typeof filter !== 'object') return undefined;
  for (const [key, value] of Object.entries(filter)) {
    if (isTrusted(value)) continue;
    if (key === '$and' || key === '$or' || key === '$nor') {
      for (const [i, sub] of (Array.isArray(value) ? value : []).entries()) {
        const found = unmarkedOperator(sub, `${path}${key}[${i}].`);
        if (found) return found;
      }
      continue;
    }
    if (value && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !isObjectIdLike(value)) {
      const keys = Object.keys(value);
      if (keys.some((k) => k.startsWith('$')) && !(keys.length === 1 && keys[0] === '$eq')) return `${path}${key}`;
    }
  }
  return undefined;
}

const isObjectIdLike = (v: object): boolean => (v as { _bsontype?: string })._bsontype === 'ObjectId' || Buffer.isBuffer(v);

/**
 * For tests (never production): a filter with our own `$` operators that reached a query without
 * `trustedFilter()` would match nothing at all under sanitizeFilter, silently. This makes it throw instead,
 * naming the field, so a forgotten mark fails the test that runs it.
 */
export function requireMarkedOperators(schema: mongoose.Schema): void {
  for (const op of FILTER_OPS) {
    schema.pre(op, function (this: mongoose.Query<unknown, unknown>) {
      const where = unmarkedOperator(this.getFilter());
      if (where) throw new Error(`query filter operator at "${where}" is not marked with trustedFilter(): sanitizeFilter would make it a literal`);
    });
  }
}

/**
 * Loads one document by _id and admits it only if it matches `scope` (the caller's visibility),
 * evaluated in memory with sift, the matcher Mongoose itself uses, so the scope filter keeps one
 * meaning. Equivalent to findOne({$and: [{_id}, scope]}) on MongoDB (both use the _id index), and
 * far cheaper on FerretDB, which pushes a filter down to SQLite only when it is `_id` alone.
 */
export async function findByIdInScope<T>(model: mongoose.Model<T>, id: Types.ObjectId, scope: object): Promise<T | null> {
  const doc = await model.findById(id).lean<T>();
  return doc && sift(scope as Record<string, unknown>)(doc) ? doc : null;
}
