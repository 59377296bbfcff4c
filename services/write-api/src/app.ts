import { randomUUID } from 'node:crypto';
import type { AnyCommandRoute } from '@refract/core';
import { assertStorableJson, type EventStore } from '@refract/event-store';
import type { Logger, Metrics } from '@refract/observability';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  installErrorHandling,
  shuttingDownBody,
} from './errors.js';

import { writeApiMetrics } from './metrics.js';
import { registerCommandRoutes } from './routes/commands.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registerStreamRoutes } from './routes/streams.js';

export interface AppOptions {
  store: EventStore;
  logger: Logger;
  metrics: Metrics;
  /** The command catalog served under `/commands/:commandType`. */
  commands: readonly AnyCommandRoute[];
  /** Larger bodies are answered 413 before they are parsed. @defaultValue 1 MiB */
  bodyLimitBytes?: number;
  /** `/readyz` reports Postgres down when `SELECT 1` takes longer. @defaultValue 1000 */
  readyTimeoutMs?: number;
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/** A client's X-Request-Id is kept when it looks like an id, so logs correlate across services. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * One log line per request, when it completes, instead of fastify's two; probes
 * are not logged, they would drown everything else.
 */
class RequestLog extends LogController {
  constructor() {
    super({ disableRequestLogging: (request) => PROBES.has(request.url ?? '') });
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (this.isLogDisabled(request)) return;
    const line = {
      method: request.method,
      url: request.url,
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/**
 * Builds the write API without listening: main.ts listens, tests inject.
 * The store belongs to the caller, who closes it.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { store, logger, commands } = options;
  const bodyLimitBytes = options.bodyLimitBytes ?? 1024 * 1024;
  const metrics = writeApiMetrics(options.metrics);

  const app = Fastify({
    // Typed as the base logger so the instance is a plain FastifyInstance for route modules.
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit: bodyLimitBytes,
    // Stream ids may have 200 characters; longer ones must reach assertStreamId
    // and get its answer rather than the router's 414.
    routerOptions: { maxParamLength: 1024 },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // We answer requests that arrive while closing ourselves, in our error shape.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler(bodyLimitBytes),
    clientErrorHandler,
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

  // Graceful close: the server stops listening and waits for its connections
  // to end, but Node closes idle keep-alive connections only once, when close()
  // starts. A connection whose request was in flight then would stay open for
  // the whole keep-alive timeout (72 s), holding the shutdown. So once closing,
  // every answer says `Connection: close`, and idle connections are swept.
  let closing = false;
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    sweeper = setInterval(() => app.server.closeIdleConnections(), 250);
    sweeper.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(sweeper);
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      // Requests already on a kept-alive connection still arrive after close()
      // began; they are refused so the client retries elsewhere.
      return reply.code(503).header('connection', 'close').send(shuttingDownBody());
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    metrics.httpRequests.inc({
      method: request.method,
      route,
      status_code: String(reply.statusCode),
    });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  installErrorHandling(app, bodyLimitBytes);
  registerProbeRoutes(app, store, options.metrics, options.readyTimeoutMs ?? 1000);
  registerStreamRoutes(app, store, metrics);
  registerCommandRoutes(app, store, commands, metrics);
  return app;
}
