import { CONTRACT_VERSION, readYourWrites } from '@refract/contract';
import type { QueryApiDefinition } from '@refract/core';
import type { Logger, Metrics } from '@refract/observability';
import { type CheckpointWatcher, readYourWritesPlugin } from '@refract/read-your-writes';
import {
  type ApiToken,
  createHttpApp,
  installBearerAuth,
  installContract,
  typed,
} from '@refract/service-kit';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { isExpected, toHttpError } from './errors.js';
import { queryApiMetrics } from './metrics.js';
import { registerProbeRoutes } from './routes/probes.js';

export interface AppOptions {
  /** The query APIs' reads (their `db`) and the readiness check. */
  pool: pg.Pool;
  /** Read-your-writes waits; started and closed by the caller. */
  watcher: CheckpointWatcher;
  /** The application's query APIs (`app.queryApis`), each registered in a scope of its own. */
  queryApis: readonly QueryApiDefinition[];
  logger: Logger;
  metrics: Metrics;
  /** `/readyz` reports Postgres down when `SELECT 1` takes longer. @defaultValue 1000 */
  readyTimeoutMs?: number;
  /** The longest `timeoutMs` a read may ask for. @defaultValue 10000 */
  maxTimeoutMs?: number;
  /** @defaultValue 1048576 */
  bodyLimitBytes?: number;
  /**
   * The bearer tokens let in; every route but the probes needs `read`.
   * Empty or unset: no authentication (config allows it on loopback only).
   */
  tokens?: readonly ApiToken[];
}

/**
 * Builds the query API without listening: main.ts listens, tests inject.
 * The pool and the watcher belong to the caller, who closes them; closing
 * the app answers the requests still waiting for a checkpoint with 503.
 * Request logs, ids, metrics, the error shape and the graceful close come
 * from service-kit's createHttpApp; the read-your-writes plugin comes first,
 * so every query API's routes can mark `config.readYourWrites`.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { pool, watcher, logger } = options;
  const metrics = queryApiMetrics(options.metrics);
  const bodyLimitBytes = options.bodyLimitBytes ?? 1_048_576;

  const app = createHttpApp({
    logger,
    metrics,
    bodyLimitBytes,
    toHttpError: (error, requestId) => toHttpError(error, requestId, bodyLimitBytes),
    expected: isExpected,
  });
  // Requests waiting for a checkpoint are answered 503 at once rather than
  // holding the shutdown for their timeout.
  app.addHook('preClose', async () => {
    watcher.endWaits();
  });

  if (options.tokens?.length) {
    installBearerAuth(app, {
      tokens: options.tokens,
      realm: 'refract query-api',
      scopeOf: () => 'read',
    });
  }
  installContract(app, {
    // The contract is no secret: generated clients read it before they have a token.
    openApiConfig: { public: true },
    title: 'Refract query-api',
    version: CONTRACT_VERSION,
    description:
      "The application's query APIs, with read-your-writes (minPosition, timeoutMs) on the routes that mark it.",
    // The application's routes are documented when they declare zod
    // schemas; a query API written without them still runs.
    requireSchemas: false,
  });
  // In a plugin, so the OpenAPI document (loaded first) sees the probes.
  app.register(async (scope) =>
    registerProbeRoutes(typed(scope), {
      pool,
      watcher,
      metrics: options.metrics,
      queryMetrics: metrics,
      readyTimeoutMs: options.readyTimeoutMs ?? 1000,
    }),
  );
  app.register(readYourWritesPlugin, {
    readYourWrites: watcher,
    maxTimeoutMs: options.maxTimeoutMs ?? readYourWrites.DEFAULT_MAX_TIMEOUT_MS,
  });
  const context = { db: pool, readYourWrites: watcher };
  for (const queryApi of options.queryApis) {
    app.register(async (scope) => queryApi.register(scope, context));
  }
  return app;
}
