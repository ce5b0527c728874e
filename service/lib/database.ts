import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import mongoose, { type Connection, type Types } from 'mongoose';
import sift from 'sift';
import type { Logger } from './logger';
import { projectRoot } from './paths';

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

export interface ResolveOptions {
  /** Folder for the database files; `undefined` means a throwaway folder removed on stop. */
  dataDir?: string;
  mongodbUri?: string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** A database this process did not start: nothing to stop, pause or resume. */
export const external = { stop: async () => {}, pause: async () => {}, resume: async () => {} };

export class NoDatabaseError extends Error {
  constructor(details: string[]) {
    super(
      [
        'No database is available. Any one of these will do:',
        '  1. set MONGODB_URI to a MongoDB 6+ server (e.g. mongodb://localhost:27017/fpc);',
        '  2. install a mongod binary (on PATH, or MONGOMS_SYSTEM_BINARY) for mongodb-memory-server,',
        '     or let it download one (needs access to fastdl.mongodb.org);',
        '  3. install Go 1.22+ so FerretDB 1.24.2 can be built from the Go module proxy',
        '     (or put a ferretdb binary on PATH, or set FERRETDB_BIN).',
        'What was tried:',
        ...details.map((d) => `  - ${d}`),
      ].join('\n'),
    );
    this.name = 'NoDatabaseError';
  }
}

/** DESIGN.md section 10: MONGODB_URI, then a real mongod, then FerretDB over SQLite, else an error. */
export async function resolveDatabase(opts: ResolveOptions): Promise<DatabaseHandle> {
  const { logger } = opts;
  const tried: string[] = [];
  if (opts.mongodbUri) {
    logger.info({ database: 'uri' }, 'database: using MONGODB_URI');
    return { kind: 'uri', uri: opts.mongodbUri, ...external };
  }

  const memory = await tryMemoryServer(opts, tried);
  if (memory) return memory;

  const ferret = await tryFerretDb(opts, tried);
  if (ferret) return ferret;

  throw new NoDatabaseError(tried);
}

async function tryMemoryServer(opts: ResolveOptions, tried: string[]): Promise<DatabaseHandle | undefined> {
  const { logger } = opts;
  let mms: typeof import('mongodb-memory-server');
  try {
    mms = await import('mongodb-memory-server');
  } catch {
    tried.push('mongodb-memory-server: package not installed (it is a development dependency)');
    return undefined;
  }
  const dbPath = opts.dataDir ? path.join(opts.dataDir, 'mongod') : undefined;
  if (dbPath) fs.mkdirSync(dbPath, { recursive: true });
  logger.info({ database: 'mongodb-memory-server' }, 'database: looking for a mongod (system binary, cache or download)');
  // One download attempt, not three: without network the fallback should not wait.
  process.env.MONGOMS_MAX_RETRIES ??= '1';
  // mongodb-memory-server prints a whole stack trace with console.warn when it cannot download;
  // our own log line below says the same in one line.
  const warn = console.warn;
  console.warn = () => {};
  try {
    const server = await withTimeout(
      mms.MongoMemoryServer.create({ instance: { dbPath, storageEngine: 'wiredTiger' } }),
      Number(process.env.MONGOMS_TIMEOUT_MS ?? 120_000),
      'mongod did not start in time',
    ).finally(() => {
      console.warn = warn;
    });
    const uri = server.getUri();
    logger.info({ database: 'mongodb-memory-server', uri }, 'database: using a real mongod');
    return {
      kind: 'mongodb-memory-server',
      uri,
      stop: async () => {
        await server.stop({ doCleanup: !dbPath, force: false });
      },
      pause: async () => {
        await server.stop({ doCleanup: false, force: false });
      },
      resume: async () => {
        await server.start(true);
      },
    };
  } catch (err) {
    const reason = mongodUnavailableReason(err);
    tried.push(`mongodb-memory-server: ${reason}`);
    // Expected wherever no mongod is installed and its download site is out of reach (as on our CI
    // machine): one plain line, not a warning with the library's half-empty message.
    logger.info({ database: 'mongodb-memory-server' }, `database: no mongod here (${reason}); trying FerretDB`);
    return undefined;
  }
}

/** Why mongodb-memory-server found no mongod, in one readable phrase. */
export function mongodUnavailableReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const download = /Download failed for url "([^"]+)"/.exec(message);
  if (download) return `none installed, and ${new URL(download[1]!).host} cannot be reached to download one`;
  return message.split('\n')[0]!.replace(/,?\s*Details:\s*$/, '') || 'unknown reason';
}

const FERRET_DIR = (): string => path.join(projectRoot(), 'tools', 'ferretdb');
export const ferretBinaryPath = (): string => path.join(FERRET_DIR(), 'bin', 'fpc-ferretdb');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/**
 * Builds tools/ferretdb (a small wrapper around FerretDB 1.24.2's embeddable package) with Go.
 * Progress goes to the log: a cold module cache downloads for a minute or two.
 */
export function buildFerretDb(logger: Pick<Logger, 'info' | 'warn'>): string | undefined {
  const go = onPath('go') ?? (fs.existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) return undefined;
  logger.info(
    { database: 'ferretdb' },
    'database: building FerretDB 1.24.2 with Go, once (a cold build downloads its modules and takes about 10 minutes on 2 cores; each package is printed as it compiles)',
  );
  const out = ferretBinaryPath();
  const result = spawnSync(go, ['build', '-v', '-o', out, '.'], {
    cwd: FERRET_DIR(),
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (result.status !== 0 || !fs.existsSync(out)) {
    logger.warn({ database: 'ferretdb', status: result.status }, 'database: building FerretDB failed');
    return undefined;
  }
  logger.info({ database: 'ferretdb', binary: out }, 'database: FerretDB built');
  return out;
}

interface FerretProcess {
  child: ChildProcess;
  uri: string;
  /** Sends one request line to the wrapper and resolves with its answer line (tools/ferretdb/main.go). */
  ask(line: string): Promise<string>;
}

/** Starts our wrapper and waits for its "ready <uri>" line. */
function startWrapper(binary: string, sqliteDir: string, listen: string): Promise<FerretProcess> {
  const waiting: { resolve: (answer: string) => void; reject: (err: Error) => void }[] = [];
  // One request at a time: the wrapper answers in order, one line each.
  let chain: Promise<unknown> = Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--sqlite-dir', sqliteDir, '--listen-addr', listen], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stderr: string[] = [];
    child.stderr!.on('data', (b: Buffer) => {
      if (stderr.length < 50) stderr.push(b.toString());
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`FerretDB did not report ready within 30 s: ${stderr.join('').slice(0, 500)}`));
    }, 30_000);
    const ask = (line: string): Promise<string> => {
      const answer = chain.then(
        () =>
          new Promise<string>((res, rej) => {
            if (child.exitCode !== null || child.signalCode !== null || !child.stdin!.writable) return rej(new Error('FerretDB is not running'));
            waiting.push({ resolve: res, reject: rej });
            child.stdin!.write(`${line}\n`);
          }),
      );
      chain = answer.catch(() => undefined);
      return answer.then((text) => {
        if (text.startsWith('error ')) throw new Error(`FerretDB wrapper: ${text.slice(6)}`);
        return text;
      });
    };
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /^ready (mongodb:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve({ child, uri: m[1]!, ask });
      } else {
        waiting.shift()?.resolve(line);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      for (const w of waiting.splice(0)) w.reject(new Error(`FerretDB exited with ${code}`));
      reject(new Error(`FerretDB exited with ${code}: ${stderr.join('').slice(0, 500)}`));
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function tryFerretDb(opts: ResolveOptions, tried: string[]): Promise<DatabaseHandle | undefined> {
  const { logger } = opts;
  const throwaway = !opts.dataDir;
  const sqliteDir = opts.dataDir ? path.join(opts.dataDir, 'ferretdb') : fs.mkdtempSync(path.join(os.tmpdir(), 'fpc-ferretdb-'));
  fs.mkdirSync(sqliteDir, { recursive: true, mode: 0o700 });

  let binary = process.env.FERRETDB_BIN || (fs.existsSync(ferretBinaryPath()) ? ferretBinaryPath() : undefined);
  if (!binary) binary = buildFerretDb(logger);
  if (!binary) {
    tried.push('FerretDB: no FERRETDB_BIN, no built tools/ferretdb/bin/fpc-ferretdb, and no Go toolchain to build it');
    if (throwaway) fs.rmSync(sqliteDir, { recursive: true, force: true });
    return undefined;
  }

  let proc: FerretProcess;
  try {
    proc = await startWrapper(binary, sqliteDir, '127.0.0.1:0');
  } catch (err) {
    tried.push(`FerretDB (${binary}): ${err instanceof Error ? err.message : String(err)}`);
    if (throwaway) fs.rmSync(sqliteDir, { recursive: true, force: true });
    return undefined;
  }
  const address = new URL(proc.uri).host;
  logger.info({ database: 'ferretdb', uri: proc.uri, dataDir: sqliteDir }, 'database: using FerretDB 1.24.2 over SQLite');

  const stopChild = async (): Promise<void> => {
    const { child } = proc;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    });
  };
  const handle: DatabaseHandle = {
    kind: 'ferretdb',
    uri: proc.uri,
    stop: async () => {
      await stopChild();
      if (throwaway) fs.rmSync(sqliteDir, { recursive: true, force: true });
    },
    pause: stopChild,
    resume: async () => {
      proc = await startWrapper(binary, sqliteDir, address);
    },
    indexIds: async () => Number((await proc.ask('index')).replace(/^indexed /, '')),
    idLookupPlan: async (dbName, collection) => (await proc.ask(`plan ${dbName} ${collection}`)).replace(/^plan /, ''),
  };
  return handle;
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

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
