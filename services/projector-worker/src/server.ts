import type { AnyProjection, Reactor, RefractApp, UpcasterRegistry } from '@refract/core';
import { createMetrics, type Logger } from '@refract/observability';
import { ProjectorWorker } from '@refract/projector';
import { closeOnce, type HttpServer, listen } from '@refract/service-kit';
import Fastify from 'fastify';
import type { WorkerConfig } from './config.js';
import { workerMetrics } from './metrics.js';

/** What the worker runs: its pool's projections of the application module. */
export interface WorkerApp {
  projections: AnyProjection[];
  /** Its pool's reactors; when PROJECTIONS narrows the worker, those it names. */
  reactors?: Reactor[];
  upcasters: UpcasterRegistry;
}

export interface WorkerServer extends HttpServer {
  /** The worker's id in the pool's membership and in its log lines. */
  workerId: string;
  /** The names of the projections it runs. */
  projections: string[];
  /** Resolves once the worker has joined its pool; rejects when it cannot. */
  started: Promise<void>;
}

/**
 * The pool's projections and reactors (POOL, narrowed by PROJECTIONS, which
 * names either: one name space) of the application module; the error names
 * the variable, the pool and the projection.
 */
export function selectProjections(app: RefractApp, config: WorkerConfig): WorkerApp {
  try {
    return {
      projections: app.projectionsOf(config.pool, config.projections),
      reactors: app.reactorsOf(config.pool, config.projections),
      upcasters: app.upcasters,
    };
  } catch (error) {
    const variable = config.projections ? 'PROJECTIONS' : 'POOL';
    throw new Error(`${variable}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Listens, then starts the worker, which may take long: it waits out a
 * Postgres outage. /healthz answers while the process runs, /readyz once the
 * worker has joined its pool (503 before, and while shutting down), /metrics
 * always. Closing finishes the batches in hand, commits, releases the leases
 * at once, then stops the server. main.ts adds only the process concerns.
 */
export async function startWorker(
  config: WorkerConfig,
  app: WorkerApp,
  logger: Logger,
): Promise<WorkerServer> {
  const metrics = createMetrics();
  const worker = new ProjectorWorker({
    databaseUrl: config.databaseUrl,
    redisUrl: config.redisUrl,
    keyPrefix: config.keyPrefix,
    pool: config.pool,
    projections: app.projections,
    reactors: app.reactors,
    upcasters: app.upcasters,
    batchSize: config.batchSize,
    concurrentBatches: config.concurrentBatches,
    leaseTtlMs: config.leaseTtlMs,
    heartbeatMs: config.heartbeatMs,
    logger,
  });
  workerMetrics(metrics, worker);

  let joined = false;
  let stopping = false;
  const http = Fastify({ logger: false });
  http.get('/healthz', async () => ({ status: 'ok' }));
  http.get('/readyz', async (_request, reply) =>
    joined && !stopping
      ? { status: 'ready', ...worker.status() }
      : reply
          .code(503)
          .send({ error: 'not_ready', message: stopping ? 'shutting down' : 'starting' }),
  );
  http.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
  // The worker first: its batches commit and its leases go before the probes stop answering.
  http.addHook('preClose', async () => {
    stopping = true;
    await worker.close();
  });

  const port = await listen(http, config);
  const started = worker.start().then(() => {
    joined = true;
  });
  // runHttpService awaits it a little later; until then a rejection is not unhandled.
  started.catch(() => {});
  return {
    port,
    workerId: worker.id,
    projections: [...app.projections, ...(app.reactors ?? [])].map((p) => p.name),
    started,
    close: closeOnce(http),
  };
}
