import { CONTRACT_VERSION } from '@refract/contract';
import type { RefractApp } from '@refract/core';
import { assertStorableJson, type EventStore } from '@refract/event-store';
import type { Logger, Metrics } from '@refract/observability';
import {
  type ApiToken,
  createHttpApp,
  installBearerAuth,
  installContract,
  typed,
} from '@refract/service-kit';
import type { FastifyInstance } from 'fastify';
import { toHttpError } from './errors.js';
import { writeApiMetrics } from './metrics.js';
import { registerCommandRoutes } from './routes/commands.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registerStreamRoutes } from './routes/streams.js';

export interface AppOptions {
  store: EventStore;
  logger: Logger;
  metrics: Metrics;
  /**
   * The application module: its commands are served under
   * `/commands/:commandType`, and raw appends are checked against its event
   * types. The store's upcasters should be the module's (`app.upcasters`).
   */
  app: RefractApp;
  /** Larger bodies are answered 413 before they are parsed. @defaultValue 1 MiB */
  bodyLimitBytes?: number;
  /** `/readyz` reports Postgres down when `SELECT 1` takes longer. @defaultValue 1000 */
  readyTimeoutMs?: number;
  /**
   * The bearer tokens let in: reads (GET) need `read`, the rest `write`.
   * Empty or unset: no authentication (config allows it on loopback only).
   */
  tokens?: readonly ApiToken[];
}

/**
 * Builds the write API without listening: main.ts listens, tests inject.
 * The store belongs to the caller, who closes it. Request logs, ids, metrics,
 * the error shape and the graceful close come from service-kit's createHttpApp;
 * stream ids may have 200 characters, and its router lets longer ones reach
 * assertStreamId for its answer.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { store, logger } = options;
  const bodyLimitBytes = options.bodyLimitBytes ?? 1024 * 1024;
  const metrics = writeApiMetrics(options.metrics);

  const app = createHttpApp({
    logger,
    metrics,
    bodyLimitBytes,
    toHttpError: (error, requestId) => toHttpError(error, requestId, bodyLimitBytes),
  });

  // JSON only: fastify's text/plain parser would let a text body reach the
  // handlers; without it, other media types are answered 415.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    parseJson(request, text as string, (error, value) => {
      if (error) return done(error, undefined);
      try {
        assertStorableJson(value);
      } catch (invalid) {
        return done(invalid as Error, undefined);
      }
      done(null, value);
    });
  });

  if (options.tokens?.length) {
    installBearerAuth(app, {
      tokens: options.tokens,
      realm: 'refract write-api',
      scopeOf: (request) =>
        request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write',
    });
  }
  installContract(app, {
    title: 'Refract write-api',
    version: CONTRACT_VERSION,
    description: "Appends, stream reads and the application's commands.",
    // The contract is no secret: generated clients read it before they have a token.
    openApiConfig: { public: true },
  });
  // In a plugin, so the OpenAPI document (loaded first) sees every route.
  app.register(async (scope) => {
    const api = typed(scope);
    registerProbeRoutes(api, store, options.metrics, options.readyTimeoutMs ?? 1000);
    registerStreamRoutes(api, store, options.app, metrics);
    registerCommandRoutes(api, store, options.app.commands, metrics);
  });
  return app;
}
