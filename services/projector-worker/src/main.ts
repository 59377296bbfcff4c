import { configArgument, loadApp } from '@refract/app-loader';
import type { AnyProjection, RefractApp, UpcasterRegistry } from '@refract/core';
import { createLogger, createMetrics } from '@refract/observability';
import { ProjectorWorker } from '@refract/projector';
import { exitOnCrash } from '@refract/service-kit';
import Fastify from 'fastify';
import { loadConfig, type WorkerConfig } from './config.js';
import { workerMetrics } from './metrics.js';

/**
 * One worker process, running the projections of its pool (POOL, narrowed by
 * PROJECTIONS) from the application module: `--config <path>`, else
 * REFRACT_CONFIG, else refract.config.ts in the working directory. The module
 * is loaded and checked before any connection is opened. /healthz answers while the process runs, /readyz once
 * it has joined its pool (and 503 while shutting down), /metrics always.
 * SIGTERM: finish the batches in hand, commit, release the leases at once.
 */
async function main(): Promise<void> {
  let config: WorkerConfig;
  let projections: AnyProjection[];
  let upcasters: UpcasterRegistry;
  try {
    config = loadConfig();
    const app = await loadApp(configArgument(process.argv) ?? config.REFRACT_CONFIG);
    projections = selectProjections(app, config);
    upcasters = app.upcasters;
  } catch (error) {
    process.stderr.write(`projector-worker: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({ service: 'projector-worker', level: config.LOG_LEVEL });
  exitOnCrash(logger);
  const metrics = createMetrics();
  const holder: { worker?: ProjectorWorker } = {};
  const worker = new ProjectorWorker({
    databaseUrl: config.DATABASE_URL,
    redisUrl: config.REDIS_URL,
    keyPrefix: config.REDIS_KEY_PREFIX,
    pool: config.POOL,
    projections,
    upcasters,
    batchSize: config.WORKER_BATCH_SIZE,
    concurrentBatches: config.WORKER_CONCURRENT_BATCHES,
    leaseTtlMs: config.WORKER_LEASE_TTL_MS,
    heartbeatMs: config.WORKER_HEARTBEAT_MS,
    logger,
    onBatch: workerMetrics(metrics, () => holder.worker),
  });
  holder.worker = worker;

  let ready = false;
  let stopping = false;
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) =>
    ready && !stopping
      ? { status: 'ready', ...worker.status() }
      : reply
          .code(503)
          .send({ error: 'not_ready', message: stopping ? 'shutting down' : 'starting' }),
  );
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
  await app.listen({ port: config.WORKER_PORT, host: config.WORKER_HOST });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.WORKER_PORT;

  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing batches, releasing partitions');
    const deadline = setTimeout(() => {
      logger.error('shutdown timed out');
      process.exit(1);
    }, config.WORKER_SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    await worker.close();
    await app.close();
    clearTimeout(deadline);
    logger.info('stopped');
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  try {
    await worker.start();
  } catch (error) {
    logger.fatal({ err: error }, 'cannot start the worker');
    await app.close();
    process.exitCode = 1;
    return;
  }
  ready = true;
  logger.info({ port, id: worker.id, projections: projections.map((p) => p.name) }, 'worker ready');
}

/** The pool's projections; the error names the variable, the pool and the projection. */
function selectProjections(app: RefractApp, config: WorkerConfig): AnyProjection[] {
  try {
    return app.projectionsOf(config.POOL, config.projections);
  } catch (error) {
    const variable = config.projections ? 'PROJECTIONS' : 'POOL';
    throw new Error(`${variable}: ${(error as Error).message}`, { cause: error });
  }
}

await main();
