import type { RefractApp } from '@refract/core';
import { createPool } from '@refract/event-store';
import { createMetrics, type Logger, type Metrics } from '@refract/observability';
import { type CheckpointWatcher, createCheckpointWatcher } from '@refract/read-your-writes';
import { closeOnce, type HttpServer, listen } from '@refract/service-kit';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { queryApiMetrics, watcherMetrics } from './metrics.js';

export interface QueryApiServer extends HttpServer {
  app: FastifyInstance;
  pool: pg.Pool;
  watcher: CheckpointWatcher;
  /** The installed partition count. */
  partitions: number;
  /** The names of the query APIs served. */
  queryApis: string[];
  /**
   * Graceful stop: stop accepting, answer waiting requests 503, finish the
   * others, close the LISTEN connection and the pool. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Opens the pool, starts the checkpoint watcher (reading the partition
 * count, which needs a migrated database), builds the app with the
 * application's query APIs and listens. An application without a query API
 * still starts (probes and metrics only), and says so. main.ts loads the
 * application module first and adds the process concerns: config errors,
 * signals, exit codes.
 */
export async function startQueryApi(
  config: Config,
  logger: Logger,
  refractApp: RefractApp,
  metrics: Metrics = createMetrics(),
): Promise<QueryApiServer> {
  const pool = createPool({
    connectionString: config.databaseUrl,
    max: config.dbPoolSize,
    applicationName: 'refract-query-api',
  });
  let watcher: CheckpointWatcher;
  try {
    watcher = await createCheckpointWatcher({
      databaseUrl: config.databaseUrl,
      pool,
      logger,
      recheckMs: config.recheckMs,
      applicationName: 'refract-query-api-listen',
      ...watcherMetrics(queryApiMetrics(metrics)),
    });
  } catch (error) {
    await pool.end();
    throw error;
  }

  const queryApis = refractApp.queryApis.map((api) => api.name);
  if (queryApis.length === 0) {
    logger.warn(
      { app: refractApp.name },
      'the application declares no query API: serving only /healthz, /readyz and /metrics',
    );
  }
  const app = buildApp({
    pool,
    watcher,
    queryApis: refractApp.queryApis,
    logger,
    metrics,
    readyTimeoutMs: config.readyTimeoutMs,
    maxTimeoutMs: config.maxTimeoutMs,
    bodyLimitBytes: config.bodyLimitBytes,
    tokens: config.tokens,
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
    partitions: watcher.partitions,
    queryApis,
    port,
    close: closeOnce(app),
  };
}
