import type { RefractApp } from '@refract/core';
import { EventStore } from '@refract/event-store';
import { createMetrics, type Logger, type Metrics } from '@refract/observability';
import { createRebuildQueue, type RebuildWorker, startRebuildWorker } from '@refract/rebuild';
import { closeOnce, type HttpServer, listen } from '@refract/service-kit';
import { createRedisClient, waitUntilReady } from '@refract/stream-bus';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';

export interface AdminServer extends HttpServer {
  app: FastifyInstance;
  store: EventStore;
  /** Graceful stop: end the streams, finish requests, hand running rebuilds back, close Redis and Postgres. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens Postgres (a migrated database: it reads the partition count) and
 * Redis, the rebuild queue and (unless turned off) a rebuild worker for all
 * of the application's projections, builds the app over all of the
 * application's projections and listens. main.ts adds only the process
 * concerns: loading the module, signals, exit codes.
 */
export async function startAdmin(
  config: Config,
  app: RefractApp,
  logger: Logger,
  metrics: Metrics = createMetrics(),
): Promise<AdminServer> {
  if (config.tokenGenerated) {
    // Dev mode only (the config refuses a missing token otherwise): shown once so the
    // dashboard can be opened. Not under `token`, which the logger redacts.
    logger.warn(
      { generatedToken: config.token },
      'ADMIN_TOKEN not set; generated one for this run (dev mode)',
    );
  }
  const store = await EventStore.open({
    databaseUrl: config.databaseUrl,
    poolSize: config.dbPoolSize,
    applicationName: 'refract-admin',
    // The rebuild worker, parked retries and event reads share this store: all see current shapes.
    upcasters: app.upcasters,
  });
  const redis = createRedisClient(config.redisUrl, { name: 'refract-admin' });
  const jobs = {
    redisUrl: config.redisUrl,
    keyPrefix: config.keyPrefix,
    store,
    projections: app.projections,
    logger,
  };
  const rebuild = createRebuildQueue(jobs);
  let worker: RebuildWorker | undefined;
  // In order: no job may run once the queue and the store are gone.
  const closeDependencies = async () => {
    await worker
      ?.close()
      .catch((error: unknown) => logger.error({ err: error }, 'rebuild worker close failed'));
    await rebuild
      .close()
      .catch((error: unknown) => logger.error({ err: error }, 'rebuild queue close failed'));
    redis.disconnect();
    await store.close();
  };
  try {
    // Not required to start: /api/projections works without Redis, /api/workers says 503.
    await waitUntilReady(redis, 2000);
    if (config.rebuildWorker) {
      worker = await startRebuildWorker({ ...jobs, concurrency: config.rebuildConcurrency });
    }
    const { app: http } = await buildApp({
      store,
      redis,
      keyPrefix: config.keyPrefix,
      projections: app.projections,
      reactors: app.reactors,
      rebuild,
      token: config.token,
      readTokens: config.readTokens,
      streamMaxClientsPerToken: config.streamMaxClientsPerToken,
      metricsRefreshMs: config.metricsRefreshMs,
      auditIntervalMs: config.auditIntervalMs,
      logger,
      metrics,
      relayName: config.relayName,
      stallThresholdMs: config.stallThresholdMs,
      lagCountLimit: config.lagCountLimit,
      streamIntervalMs: config.streamIntervalMs,
      streamHeartbeatMs: config.streamHeartbeatMs,
      history: config.history,
      readyTimeoutMs: config.readyTimeoutMs,
      dashboardDir: config.dashboardDir,
    });
    // Runs once the server has stopped and in-flight requests are answered.
    http.addHook('onClose', closeDependencies);
    const port = await listen(http, config);
    return { app: http, store, port, close: closeOnce(http) };
  } catch (error) {
    await closeDependencies();
    throw error;
  }
}
