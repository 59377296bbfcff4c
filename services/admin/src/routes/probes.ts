import { probeSchemas } from '@refract/contract';
import type { Metrics } from '@refract/observability';
import { type ContractApp, checkPostgres } from '@refract/service-kit';
import type pg from 'pg';
import type { MetricsCache } from '../metrics-cache.js';

/** `/healthz` (the process answers), `/readyz` (Postgres answers too) and `/metrics`; no token needed. */
export function registerProbeRoutes(
  app: ContractApp,
  options: {
    pool: pg.Pool;
    metrics: Metrics;
    readyTimeoutMs: number;
    /** The cached admin gauges, refreshed on their own timer. */
    cache: MetricsCache;
  },
): void {
  const { pool, metrics, readyTimeoutMs, cache } = options;
  const config = { public: true };

  app.get('/healthz', { config, schema: probeSchemas.healthz }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config, schema: probeSchemas.readyz }, async () => {
    await checkPostgres(pool, readyTimeoutMs);
    return { status: 'ready' };
  });

  // The values of the last refresh: a scrape queries nothing once they are complete.
  app.get('/metrics', { config, schema: probeSchemas.metrics }, async (_request, reply) => {
    await cache.beforeScrape();
    reply.type(metrics.contentType);
    return metrics.render();
  });
}
