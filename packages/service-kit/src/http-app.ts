import { randomUUID } from 'node:crypto';
import type { Logger } from '@refract/observability';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import {
  clientErrorHandler,
  type ErrorHandlingOptions,
  frameworkErrorHandler,
  installErrorHandling,
  shuttingDownBody,
} from './http-errors.js';
import type { HttpMetrics } from './http-metrics.js';
import { requestLoggerFactory } from './request-logger.js';

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * How much of an oversized body is read and discarded after its 413 (see
 * `drainOversizedBody`): at most `maxBytes` (also the most a Content-Length
 * may declare) and for at most `maxMs`. Beyond either the connection is
 * closed, as fastify would at once.
 */
interface DrainBounds {
  maxBytes: number;
  maxMs: number;
}

const DRAIN_BOUNDS: DrainBounds = { maxBytes: 16 * 1024 * 1024, maxMs: 10_000 };

/**
 * fastify answers a body over the limit before reading the rest, and says
 * `Connection: close`: Node then closes the socket as soon as the answer is
 * written, with the client's upload still arriving, and the kernel resets
 * the connection, often before the client has read the 413 (`fetch failed`,
 * EPIPE). Instead the rest of the body is discarded, within `bounds`,
 * and the connection stays open for the client's next request. Other 413s,
 * without fastify's `Connection: close`, are left as they are.
 */
function drainOversizedBody(
  request: FastifyRequest,
  reply: FastifyReply,
  bounds: DrainBounds,
): void {
  if (reply.getHeader('connection') !== 'close') return;
  const raw = request.raw;
  if (raw.complete) {
    reply.removeHeader('connection');
    return;
  }
  const declared = Number(raw.headers['content-length']);
  if (declared > bounds.maxBytes) return;
  const socket = raw.socket;
  let discarded = 0;
  const stop = () => {
    clearTimeout(timer);
    raw.off('data', count);
  };
  const giveUp = () => {
    stop();
    socket.destroy();
  };
  const count = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bounds.maxBytes) giveUp();
  };
  const timer = setTimeout(giveUp, bounds.maxMs);
  timer.unref();
  raw.on('data', count);
  raw.once('end', stop);
  raw.once('close', stop);
  // Flowing before the answer ends, so Node does not dump the body itself
  // (which would drop the byte count).
  raw.resume();
  reply.removeHeader('connection');
}

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

export interface HttpAppOptions extends ErrorHandlingOptions {
  logger: Logger;
  /** From `httpMetrics`: every answer is counted and timed by method, route pattern and status. */
  metrics: HttpMetrics;
  /** Larger bodies are answered 413 (through `toHttpError`) before they are parsed. */
  bodyLimitBytes: number;
  /** How much of a body over the limit is discarded, after its 413, rather than reset. @defaultValue 16 MiB, 10 s */
  oversizedBodyDrain?: DrainBounds;
}

/**
 * A fastify instance with what every HTTP service shares, routes still to
 * add: one log line per request, request ids, request metrics, the error
 * shape (`installErrorHandling`, framework and client errors), and a
 * graceful close. It does not listen: main listens, tests inject.
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const { logger, metrics, bodyLimitBytes, toHttpError } = options;
  const drainBounds = options.oversizedBodyDrain ?? DRAIN_BOUNDS;
  const app = Fastify({
    // Typed as the base logger so the instance is a plain FastifyInstance for route modules.
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    childLoggerFactory: requestLoggerFactory,
    bodyLimit: bodyLimitBytes,
    // Over-long ids must reach the service's own id check and get its 400
    // rather than the router's 414.
    routerOptions: { maxParamLength: 1024 },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // We answer requests that arrive while closing ourselves, in our error shape.
    return503OnClosing: false,
    frameworkErrors: frameworkErrorHandler(toHttpError),
    clientErrorHandler,
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
  app.addHook('onSend', async (request, reply) => {
    if (closing) reply.header('connection', 'close');
    else if (reply.statusCode === 413) drainOversizedBody(request, reply, drainBounds);
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

  installErrorHandling(app, { toHttpError, expected: options.expected });
  return app;
}

/**
 * Listens on `port` and `host`, and returns the port actually bound (another
 * than `port` when that is 0). When it cannot listen, the app is closed (its
 * onClose hooks release what the service opened) and the error rethrown.
 */
export async function listen(
  app: FastifyInstance,
  at: { port: number; host: string },
): Promise<number> {
  try {
    await app.listen({ port: at.port, host: at.host });
  } catch (error) {
    await app.close().catch(() => {});
    throw error;
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : at.port;
}

/** A graceful, idempotent stop: every call returns the same promise of `app.close()`. */
export function closeOnce(app: FastifyInstance): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= app.close().then(() => undefined);
    return closing;
  };
}
