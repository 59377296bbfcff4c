import { DependencyUnavailableError } from '@refract/core';
import type { Metrics } from '@refract/observability';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { CheckpointWatcher } from '../checkpoints.js';
import type { QueryApiMetrics } from '../metrics.js';

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `/healthz` (the process answers), `/readyz` (Postgres answers too) and `/metrics`. */
export function registerProbeRoutes(
  app: FastifyInstance,
  options: {
    pool: pg.Pool;
    watcher: CheckpointWatcher;
    metrics: Metrics;
    queryMetrics: QueryApiMetrics;
    readyTimeoutMs: number;
  },
): void {
  const { pool, watcher, metrics, queryMetrics, readyTimeoutMs } = options;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    try {
      // A timeout of our own: a blackholed database would otherwise hang the
      // probe for the TCP connect timeout, long past the orchestrator's patience.
      await withTimeout(pool.query('SELECT 1'), readyTimeoutMs);
    } catch (error) {
      throw new DependencyUnavailableError('postgres', error);
    }
    // Without the LISTEN connection reads still work and waits end by the
    // slower re-check, so it is reported, not required.
    return { status: 'ready', listening: watcher.isListening };
  });

  app.get('/metrics', async (_request, reply) => {
    queryMetrics.pendingWaits.set(watcher.pendingWaits);
    queryMetrics.listening.set(watcher.isListening ? 1 : 0);
    reply.type(metrics.contentType);
    return metrics.render();
  });
}
