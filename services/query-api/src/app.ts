import { randomUUID } from 'node:crypto';
import type { Logger, Metrics } from '@refract/observability';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type pg from 'pg';
import type { CheckpointWatcher } from './checkpoints.js';
import {
  clientErrorHandler,
  frameworkErrorHandler,
  installErrorHandling,
  shuttingDown,
  toHttpError,
} from './errors.js';
import { queryApiMetrics } from './metrics.js';
import { registerProbeRoutes } from './routes/probes.js';
import { registerReadRoutes } from './routes/reads.js';

export interface AppOptions {
  /** Reads of the views, the events index and the checkpoints. */
  pool: pg.Pool;
  /** Read-your-writes waits; started and closed by the caller. */
  watcher: CheckpointWatcher;
  /** The installed partition count (`readPartitionCount`). */
  partitions: number;
  logger: Logger;
  metrics: Metrics;
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
 * Builds the query API without listening: main.ts listens, tests inject.
 * The pool and the watcher belong to the caller, who closes them; closing
 * the app answers the requests still waiting for a checkpoint with 503.
 */
export function buildApp(options: AppOptions): FastifyInstance {
  const { pool, watcher, partitions, logger } = options;
  const metrics = queryApiMetrics(options.metrics);

  const app = Fastify({
    // Typed as the base logger so the instance is a plain FastifyInstance for route modules.
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    // Nothing here reads a body.
    bodyLimit: 1024,
    // Ids are at most 100 characters; longer ones must reach the id check
    // and get its 400 rather than the router's 414.
    routerOptions: { maxParamLength: 1024 },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // We answer requests that arrive while closing ourselves, in our error shape.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler,
  });

  // Graceful close: the server stops listening and waits for its connections
  // to end. Requests waiting for a checkpoint are answered 503 at once rather
  // than holding the shutdown for their timeout; once closing, every answer
  // says `Connection: close` and idle keep-alive connections are swept.
  let closing = false;
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    watcher.endWaits();
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
      const answer = toHttpError(shuttingDown(), request.id);
      return reply.code(answer.statusCode).header('connection', 'close').send(answer.body);
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

  installErrorHandling(app);
  registerProbeRoutes(app, {
    pool,
    watcher,
    metrics: options.metrics,
    queryMetrics: metrics,
    readyTimeoutMs: options.readyTimeoutMs ?? 1000,
  });
  registerReadRoutes(app, { pool, watcher, partitions, metrics });
  return app;
}
