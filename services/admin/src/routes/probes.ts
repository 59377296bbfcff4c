import { probeSchemas } from '@refract/contract';
import type { Metrics } from '@refract/observability';
import { type ContractApp, checkPostgres } from '@refract/service-kit';
import type pg from 'pg';

/** `/healthz` (the process answers), `/readyz` (Postgres answers too) and `/metrics`; no token needed. */
export function registerProbeRoutes(
  app: ContractApp,
  options: {
    pool: pg.Pool;
    metrics: Metrics;
    readyTimeoutMs: number;
    /** Brings the admin gauges up to date before a scrape. */
    refresh: () => Promise<void>;
  },
): void {
  const { pool, metrics, readyTimeoutMs, refresh } = options;
  const config = { public: true };

  app.get('/healthz', { config, schema: probeSchemas.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config, schema: probeSchemas.readyz }, async () => {
    await checkPostgres(pool, readyTimeoutMs);
    return { status: 'ready' };
  });

  app.get('/metrics', { config, schema: probeSchemas.metrics }, async (request, reply) => {
    // A scrape still answers when a dependency is down: the gauges keep their last values.
    await refresh().catch((error: unknown) =>
      request.log.warn({ err: error }, 'cannot refresh admin metrics'),
    );
    reply.type(metrics.contentType);
    return metrics.render();
  });
}
