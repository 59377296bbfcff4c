import { createPool, readPartitionCount } from '@refract/event-store';
import { createMetrics, type Logger, type Metrics } from '@refract/observability';
import { closeOnce, type HttpServer, listen } from '@refract/service-kit';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { buildApp } from './app.js';
import { CheckpointWatcher } from './checkpoints.js';
import type { Config } from './config.js';
import { queryApiMetrics } from './metrics.js';

export interface QueryApiServer extends HttpServer {
  app: FastifyInstance;
  pool: pg.Pool;
  watcher: CheckpointWatcher;
  /** The installed partition count. */
  partitions: number;
  /**
   * Graceful stop: stop accepting, answer waiting requests 503, finish the
   * others, close the LISTEN connection and the pool. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Opens the pool (reading the partition count, which needs a migrated
 * database), starts the checkpoint watcher, builds the app and listens.
 * main.ts adds only the process concerns: config errors, signals, exit codes.
 */
export async function startQueryApi(
  config: Config,
  logger: Logger,
  metrics: Metrics = createMetrics(),
): Promise<QueryApiServer> {
  const pool = createPool({
    connectionString: config.databaseUrl,
    max: config.dbPoolSize,
    applicationName: 'refract-query-api',
  });
  let partitions: number;
  try {
    partitions = await readPartitionCount(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }

  const counters = queryApiMetrics(metrics);
  const watcher = new CheckpointWatcher({
    databaseUrl: config.databaseUrl,
    pool,
    logger,
    recheckMs: config.recheckMs,
    onListening: (listening) => counters.listening.set(listening ? 1 : 0),
    onRecheck: () => counters.rechecks.inc(),
  });
  await watcher.start();

  const app = buildApp({
    pool,
    watcher,
    partitions,
    logger,
    metrics,
    readyTimeoutMs: config.readyTimeoutMs,
  });
  // Runs once the server has stopped and in-flight requests are answered.
  app.addHook('onClose', async () => {
    await watcher.close();
    await pool.end();
  });

  const port = await listen(app, config);
  return {
    app,
    pool,
    watcher,
    partitions,
    port,
    close: closeOnce(app),
  };
}
