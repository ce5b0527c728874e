import fs from 'node:fs';
import path from 'node:path';
import { Types, type Connection } from 'mongoose';
import { createAuthenticator } from './accounts/accounts.service';
import type { Config } from './config';
import { loadPolicy, type Policy } from './eligibility/policy';
import type { AppContext } from './context';
import { systemClock, type Clock } from './lib/clock';
import { connect, external, type DatabaseHandle } from './lib/database';
import { loadKeys, type Keys } from './lib/keys';
import { decrypt } from './lib/personal';
import type { ProvincialPlatform } from './certificates/platform';
import { DatabaseCounterStore } from './lib/ratelimit';
import { loadCalendarSupplements } from './lib/workdays';
import type { Logger } from './lib/logger';
import { createModels, ensureIndexes } from './models';
import { ClamdScanner, EicarSignatureScanner, type MalwareScanner } from './documents/scanner';
import { DiskFileStore, type FileStore } from './documents/storage';
import { DELIVERY_TIMEOUT_MS } from './notifications/notifications.service';
import { LogNotifier, WebhookNotifier, type Notifier } from './notifications/notifier';

export interface Runtime {
  ctx: AppContext;
  database: DatabaseHandle;
  close(): Promise<void>;
}

/** The file where a running service tells the admin tool which database it started. */
export const dbStateFile = (config: Config): string => path.join(config.dataDir, 'db.json');

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The database this process should use: MONGODB_URI, the one a running `npm start` already serves
 * from ./data (so the admin tool can work beside it), or a newly resolved one.
 */
export async function openDatabase(config: Config, logger: Logger, opts: { throwaway?: boolean; reuseRunning?: boolean } = {}): Promise<DatabaseHandle> {
  if (!config.mongodbUri && opts.reuseRunning && fs.existsSync(dbStateFile(config))) {
    const state = JSON.parse(fs.readFileSync(dbStateFile(config), 'utf8')) as { uri: string; pid: number };
    if (processAlive(state.pid)) {
      logger.info({ database: 'running-service' }, 'database: using the one the running service started');
      return { kind: 'uri', uri: state.uri, ...external };
    }
  }
  if (config.mongodbUri) {
    logger.info({ database: 'uri' }, 'database: using MONGODB_URI');
    return { kind: 'uri', uri: config.mongodbUri, ...external };
  }
  // Development and tests only: start a database of our own (loaded only here).
  const { resolveDatabase } = await import('./lib/devdatabase.js');
  return resolveDatabase({ dataDir: opts.throwaway ? undefined : config.dataDir, logger });
}

export async function buildContext(
  config: Config,
  logger: Logger,
  conn: Connection,
  overrides: { clock?: Clock; keys?: Keys; policy?: Policy; files?: FileStore; scanner?: MalwareScanner; notifier?: Notifier; platform?: ProvincialPlatform } = {},
): Promise<AppContext> {
  loadCalendarSupplements(path.join(config.schemasDir, 'calendar'));
  const models = createModels(conn);
  await ensureIndexes(models);
  const keys = overrides.keys ?? loadKeys(config.keysDir, config.env !== 'production');
  const clock = overrides.clock ?? systemClock;
  const policy = overrides.policy ?? loadPolicy(config.schemasDir);
  const files = overrides.files ?? new DiskFileStore(config.uploadsDir);
  const scanner = overrides.scanner ?? (config.clamd ? new ClamdScanner(config.clamd) : new EicarSignatureScanner());
  if (!config.clamd && config.env === 'production') logger.warn('CLAMD_ADDRESS is not set: uploads are checked only for the EICAR test signature');
  const notifier =
    overrides.notifier ??
    (config.notifyWebhook
      ? new WebhookNotifier({
          ...config.notifyWebhook,
          timeoutMs: DELIVERY_TIMEOUT_MS - 1_000,
          phoneOf: async (id) => {
            if (!Types.ObjectId.isValid(id)) return undefined;
            const sealed = (await models.Account.findById(id, { phoneEnc: 1 }).lean())?.phoneEnc;
            return sealed ? decrypt(keys.dataKey, sealed) : undefined;
          },
        })
      : new LogNotifier(logger));
  const counterStores = config.rateLimitStore === 'database' ? () => new DatabaseCounterStore(models.RateCounter, clock) : undefined;
  const partial = { config, conn, models, clock, keys, logger, policy, files, scanner, notifier, counterStores, platform: overrides.platform };
  return { ...partial, authenticate: createAuthenticator(partial) };
}

export async function startRuntime(
  config: Config,
  logger: Logger,
  opts: { throwaway?: boolean; reuseRunning?: boolean; clock?: Clock } = {},
): Promise<Runtime> {
  const database = await openDatabase(config, logger, opts);
  let conn: Connection;
  try {
    conn = await connect(database.uri);
  } catch (err) {
    await database.stop();
    throw err;
  }
  const ctx = await buildContext(config, logger, conn, { clock: opts.clock });
  // The collections exist now (ensureIndexes made them): index FerretDB's _id expression at once.
  await database.indexIds?.();
  return {
    ctx,
    database,
    close: async () => {
      await conn.close();
      await database.stop();
    },
  };
}
