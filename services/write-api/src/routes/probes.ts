import { probeSchemas } from '@refract/contract';
import type { EventStore } from '@refract/event-store';
import type { Metrics } from '@refract/observability';
import { type ContractApp, checkPostgres } from '@refract/service-kit';

/** `/healthz` (the process answers), `/readyz` (Postgres answers too) and `/metrics`; no token needed. */
export function registerProbeRoutes(
  app: ContractApp,
  store: EventStore,
  metrics: Metrics,
  readyTimeoutMs: number,
): void {
  const config = { public: true };
  app.get('/healthz', { config, schema: probeSchemas.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config, schema: probeSchemas.readyz }, async () => {
    await checkPostgres(store.pool, readyTimeoutMs);
    return { status: 'ready' };
  });

  app.get('/metrics', { config, schema: probeSchemas.metrics }, async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
}
