import type { Connection } from 'mongoose';
import type { Config } from './config';
import type { Policy } from './eligibility/policy';
import type { MalwareScanner } from './documents/scanner';
import type { FileStore } from './documents/storage';
import type { Authenticator } from './lib/auth';
import type { CounterStores } from './lib/ratelimit';
import type { Clock } from './lib/clock';
import type { Keys } from './lib/keys';
import type { Logger } from './lib/logger';
import type { Models } from './models';
import type { Notifier } from './notifications/notifier';
import type { ProvincialPlatform } from './certificates/platform';

/** What the capabilities are built from; tests swap the clock, keys and stores. */
export interface AppContext {
  config: Config;
  conn: Connection;
  models: Models;
  clock: Clock;
  keys: Keys;
  logger: Logger;
  authenticate: Authenticator;
  /** Catalogue, forms and eligibility rule sets, loaded from schemas/ at start-up. */
  policy: Policy;
  files: FileStore;
  /** Shared rate-limit counters (RATE_LIMIT_STORE=database); absent: per-process memory. */
  counterStores?: CounterStores;
  scanner: MalwareScanner;
  /** Delivers messages to applicants from the outbox (development: writes them to the log). */
  notifier: Notifier;
  /** The provincial e-licence platform's adapter; absent: not connected. */
  platform?: ProvincialPlatform;
}
