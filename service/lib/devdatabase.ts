import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { external, type DatabaseHandle } from './database';
import type { Logger } from './logger';
import { projectRoot } from './paths';

/**
 * Development and test databases, for when no MONGODB_URI is given: a real mongod through
 * mongodb-memory-server, else FerretDB 1.24.2 over SQLite built from tools/ferretdb. Production
 * (MONGODB_URI) never loads this module.
 */

export interface ResolveOptions {
  /** Folder for the database files; `undefined` means a throwaway folder removed on stop. */
  dataDir?: string;
  mongodbUri?: string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

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
