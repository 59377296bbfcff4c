import { DependencyUnavailableError } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import type { Metrics } from '@refract/observability';
import type { FastifyInstance } from 'fastify';

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
  store: EventStore,
  metrics: Metrics,
  readyTimeoutMs: number,
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    try {
      // A timeout of our own: a blackholed database would otherwise hang the
      // probe for the TCP connect timeout, long past the orchestrator's patience.
      await withTimeout(store.pool.query('SELECT 1'), readyTimeoutMs);
    } catch (error) {
      throw new DependencyUnavailableError('postgres', error);
    }
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
}
