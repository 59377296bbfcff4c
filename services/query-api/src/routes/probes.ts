import { probeSchemas } from '@refract/contract';
import type { Metrics } from '@refract/observability';
import type { CheckpointWatcher } from '@refract/read-your-writes';
import { type ContractApp, checkPostgres } from '@refract/service-kit';
import type pg from 'pg';
import type { QueryApiMetrics } from '../metrics.js';

/** `/healthz` (the process answers), `/readyz` (Postgres answers too) and `/metrics`. */
export function registerProbeRoutes(
  app: ContractApp,
  options: {
    pool: pg.Pool;
    watcher: CheckpointWatcher;
    metrics: Metrics;
    queryMetrics: QueryApiMetrics;
    readyTimeoutMs: number;
  },
): void {
  const { pool, watcher, metrics, queryMetrics, readyTimeoutMs } = options;

  app.get('/healthz', { config: { public: true }, schema: probeSchemas.healthz }, async () => ({
    status: 'ok',
  }));

  app.get('/readyz', { config: { public: true }, schema: probeSchemas.readyz }, async () => {
    await checkPostgres(pool, readyTimeoutMs);
    // Without the LISTEN connection reads still work and waits end by the
    // slower re-check, so it is reported, not required.
    return { status: 'ready', listening: watcher.isListening };
  });

  app.get(
    '/metrics',
    { config: { public: true }, schema: probeSchemas.metrics },
    async (_request, reply) => {
      queryMetrics.pendingWaits.set(watcher.pendingWaits);
      queryMetrics.listening.set(watcher.isListening ? 1 : 0);
      reply.type(metrics.contentType);
      return metrics.render();
    },
  );
}
