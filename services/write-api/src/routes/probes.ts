import type { EventStore } from '@refract/event-store';
import type { Metrics } from '@refract/observability';
import { checkPostgres } from '@refract/service-kit';
import type { FastifyInstance } from 'fastify';

/** `/healthz` (the process answers), `/readyz` (Postgres answers too) and `/metrics`. */
export function registerProbeRoutes(
  app: FastifyInstance,
  store: EventStore,
  metrics: Metrics,
  readyTimeoutMs: number,
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async () => {
    await checkPostgres(store.pool, readyTimeoutMs);
    return { status: 'ready' };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
}
