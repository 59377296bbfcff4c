import type { Logger, Metrics } from '@refract/observability';
import { createHttpApp } from '@refract/service-kit';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { CheckpointWatcher } from './checkpoints.js';
import { isExpected, toHttpError } from './errors.js';
import { queryApiMetrics } from './metrics.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registerReadRoutes } from './routes/reads.js';

export interface AppOptions {
  /** Reads of the views, the events index and the checkpoints. */
  pool: pg.Pool;
  /** Read-your-writes waits; started and closed by the caller. */
  watcher: CheckpointWatcher;
  /** The installed partition count (`readPartitionCount`). */
  partitions: number;
  logger: Logger;
  metrics: Metrics;
  /** `/readyz` reports Postgres down when `SELECT 1` takes longer. @defaultValue 1000 */
  readyTimeoutMs?: number;
}

/**
 * Builds the query API without listening: main.ts listens, tests inject.
 * The pool and the watcher belong to the caller, who closes them; closing
 * the app answers the requests still waiting for a checkpoint with 503.
 * Request logs, ids, metrics, the error shape and the graceful close come
 * from service-kit's createHttpApp; ids are at most 100 characters, and its
 * router lets longer ones reach the id check for its 400.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { pool, watcher, partitions, logger } = options;
  const metrics = queryApiMetrics(options.metrics);

  const app = createHttpApp({
    logger,
    metrics,
    // Nothing here reads a body.
    bodyLimitBytes: 1024,
    toHttpError,
    expected: isExpected,
  });
  // Requests waiting for a checkpoint are answered 503 at once rather than
  // holding the shutdown for their timeout.
  app.addHook('preClose', async () => {
    watcher.endWaits();
  });

  registerProbeRoutes(app, {
    pool,
    watcher,
    metrics: options.metrics,
    queryMetrics: metrics,
    readyTimeoutMs: options.readyTimeoutMs ?? 1000,
  });
  registerReadRoutes(app, { pool, watcher, partitions, metrics });
  return app;
}
