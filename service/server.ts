import fs from 'node:fs';
import type { Server } from 'node:http';
import { seedDemo } from './accounts/demo';
import { purgeEndedSessions } from './accounts/accounts.service';
import { createApp } from './app';
import { purgeIdempotencyKeys } from './applications/idempotency';
import { backfillApplicationKeys, recomputeProvisionalDeadlines } from './applications/applications.service';
import { purgeRateCounters } from './lib/ratelimit';
import { recoverIssuance } from './certificates/certificates.service';
import { sweepOrphans } from './documents/documents.service';
import { purgeWebSessions } from './web/session';
import { ConfigError, loadConfig, type Config } from './config';
import { isFerretDb } from './lib/database';
import { NoDatabaseError } from './lib/devdatabase';
import { beginRun, endRun } from './system/lifecycle';
import { rebuildCaseKeys } from './system/case-keys';
import { backfillAccountKeys } from './accounts/accounts.store';
import { migrateAccessLog } from './audit/audit.service';
import { KeyConfigError } from './lib/keys';
import { purgeNotifications, startNotificationWorker } from './notifications/notifications.service';
import { repairQueueEntries, retryFailedQueueSyncs } from './review/queue.store';
import { rebuildStatsBuckets, retryFailedStatsSyncs, statsBucketsCurrent } from './stats/stats.store';
import { backfillSearchKeys } from './ledger/ledger.store';
import { createLogger } from './lib/logger';
import { prewarmPdf } from './pdf/document';
import { calendarStatus } from './lib/workdays';
import { dbStateFile, startRuntime } from './runtime';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });

  const runtime = await startRuntime(config, logger);
  const { ctx, database } = runtime;
  if (database.kind !== 'uri') {
    fs.writeFileSync(dbStateFile(config), JSON.stringify({ uri: database.uri, pid: process.pid, kind: database.kind }));
  }
  // Finish what a crash interrupted before taking new work.
  // At start-up nothing of this process is in flight; another instance's in-flight approval would at
  // worst lose a serial number to the conditional update, never gain a second certificate.
  // The repairs that read whole collections are skipped after a clean stop where one process owns
  // the database (system/lifecycle.ts); the issuance marks are read at every start.
  const cleanBefore = (await beginRun(ctx.models, ctx.clock.now())) && (await isFerretDb(ctx.conn));
  if (cleanBefore) {
    await recoverIssuance(ctx, logger, 0);
    await rebuildCaseKeys(ctx, { onlyIfNeverBuilt: true });
    // Buckets never built (data from before them) or of an older fact shape: built now, once.
    if (!(await statsBucketsCurrent(ctx))) {
      await backfillSearchKeys(ctx);
      await rebuildStatsBuckets(ctx);
    }
  } else {
    await migrateAccessLog(ctx);
    await backfillAccountKeys(ctx);
    await backfillApplicationKeys(ctx);
    await rebuildCaseKeys(ctx);
    await recoverIssuance(ctx, logger, 0, { full: true });
    await sweepOrphans(ctx, logger, ctx.clock.now(), config.uploadSweepGraceSeconds * 1000);
    const queue = await repairQueueEntries(ctx.models);
    if (queue.written || queue.removed) logger.info(queue, 'officer queue entries repaired');
    await backfillSearchKeys(ctx);
    const buckets = await rebuildStatsBuckets(ctx);
    if (buckets.written || buckets.removed) logger.info(buckets, 'statistics buckets repaired');
  }
  await recomputeProvisionalDeadlines(ctx);
  const housekeeping = setInterval(() => {
    recomputeProvisionalDeadlines(ctx).catch((err: unknown) => logger.warn({ err: String(err) }, 'deadline recomputation failed'));
    recoverIssuance(ctx, logger).catch((err: unknown) => logger.warn({ err: String(err) }, 'certificate recovery failed'));
    purgeEndedSessions(ctx).catch((err: unknown) => logger.warn({ err: String(err) }, 'session clean-up failed'));
    purgeIdempotencyKeys(ctx).catch((err: unknown) => logger.warn({ err: String(err) }, 'idempotency clean-up failed'));
    retryFailedQueueSyncs().catch((err: unknown) => logger.warn({ err: String(err) }, 'queue entry retry failed'));
    retryFailedStatsSyncs().catch((err: unknown) => logger.warn({ err: String(err) }, 'statistics bucket retry failed'));
    purgeNotifications(ctx).catch((err: unknown) => logger.warn({ err: String(err) }, 'notification clean-up failed'));
    purgeRateCounters(ctx.models.RateCounter, ctx.clock.now()).catch((err: unknown) => logger.warn({ err: String(err) }, 'rate-limit clean-up failed'));
    purgeWebSessions(ctx).catch((err: unknown) => logger.warn({ err: String(err) }, 'page session clean-up failed'));
  }, 60_000);
  housekeeping.unref();
  const stopNotifications = startNotificationWorker(ctx, { catchUp: !cleanBefore });
  const calendar = calendarStatus(ctx.clock.now());
  if (calendar.warning) logger.warn({ calendar }, `holiday calendar ends ${calendar.coversUntil}: ${calendar.warning}`);
  if (config.seedDemoData) {
    const lines = await seedDemo(ctx);
    logger.info('demo accounts (development only):');
    for (const line of lines) console.log(`  ${line}`);
  }

  const app = createApp(ctx);
  const server: Server = app.listen(config.port, config.host, () => {
    logger.info({ port: config.port, env: config.env, database: database.kind }, `listening on http://localhost:${config.port}`);
    // After listening, never before: readiness does not wait for it, and the first PDF does not pay for it.
    if (!config.pdfPrewarm) return;
    prewarmPdf(ctx).then(
      (r) => logger.info(r, 'PDF fonts and writer ready'),
      (err: unknown) => logger.warn({ err: String(err) }, 'PDF pre-warming failed; the first PDF will instance its fonts'),
    );
  });
  server.on('error', (err) => {
    logger.error({ err }, 'cannot listen');
    void shutdown(1);
  });

  let stopping = false;
  async function shutdown(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down');
    clearInterval(housekeeping);
    stopNotifications();
    const force = setTimeout(() => process.exit(code || 1), 15_000);
    force.unref();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    await endRun(ctx.models, ctx.clock.now()).catch((err: unknown) => logger.warn({ err: String(err) }, 'could not record the clean stop'));
    await runtime.close().catch((err: unknown) => logger.error({ err }, 'closing the database failed'));
    fs.rmSync(dbStateFile(config), { force: true });
    process.exit(code);
  }
  process.on('SIGTERM', () => void shutdown(0));
  process.on('SIGINT', () => void shutdown(0));
}

main().catch((err: unknown) => {
  if (err instanceof NoDatabaseError || err instanceof KeyConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
