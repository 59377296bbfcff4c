import { readYourWrites as contract } from '@refract/contract';
import { httpStatusOf, RefractError } from '@refract/core';
import { zodValidatorCompiler } from '@refract/service-kit';
import type {
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import type { ReadYourWrites } from './checkpoint-watcher.js';
import { ReadYourWritesError } from './errors.js';

/** What a route marks with `config: { readYourWrites: … }`. */
export interface ReadYourWritesRouteConfig {
  /** The projection whose read model the route reads. */
  projection: string;
  /**
   * The stream the read is about (e.g. `order-${request.params.orderId}`):
   * the wait is then for that stream's events, in its partition only.
   * Without it, every partition must have applied everything up to the
   * position. May throw core's InvalidInputError to refuse the request (400).
   */
  streamId?: (request: FastifyRequest) => string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    readYourWrites?: ReadYourWritesRouteConfig;
  }
}

/** The header form of `?minPosition=`, for clients that add it to every read. */
export const MIN_POSITION_HEADER = contract.MIN_POSITION_HEADER;
/** The header form of `?timeoutMs=`. */
export const TIMEOUT_HEADER = contract.TIMEOUT_HEADER;

/** What the route's validated query and headers hold of the wait. */
interface WaitParams {
  query?: { minPosition?: number; timeoutMs?: number };
  headers: { 'refract-min-position'?: number; 'refract-timeout-ms'?: number };
}

/**
 * The route's own query or headers schema with the wait's parameters added.
 * Without one, unknown parameters pass as before (the route never said what
 * it takes); with one, it must be a zod object, and stays as strict as it was.
 */
function withWaitParams(
  route: RouteOptions,
  part: 'querystring' | 'headers',
  shape: z.ZodRawShape,
): z.ZodObject {
  const own = route.schema?.[part];
  if (own === undefined) return z.looseObject(shape);
  if (own instanceof z.ZodObject) return own.extend(shape);
  throw new Error(
    `route ${String(route.method)} ${route.url}: with config.readYourWrites, its ${part} schema must be a zod object`,
  );
}

export interface ReadYourWritesPluginOptions {
  /** The watcher (or anything else that waits). */
  readYourWrites: ReadYourWrites;
  /** The longest `timeoutMs` a request may ask for; more is a 400. @defaultValue 10000 */
  maxTimeoutMs?: number;
  /** The wait when a request gives `minPosition` without `timeoutMs`. @defaultValue 5000 */
  defaultTimeoutMs?: number;
}

interface Answer {
  statusCode: number;
  level: 'debug' | 'warn';
  body: { error: string; message: string; [detail: string]: unknown };
}

/** The errors of a wait, answered here in the `{ error, message, ...details }` shape. */
function answerOf(error: unknown): Answer | undefined {
  let statusCode: number;
  let code: string;
  let details: Record<string, unknown>;
  if (error instanceof ReadYourWritesError) {
    ({ statusCode, code, details } = error);
  } else if (error instanceof RefractError) {
    statusCode = httpStatusOf(error.code);
    ({ code, details } = error);
  } else {
    return undefined;
  }
  const message = (error as Error).message;
  return {
    statusCode,
    // A wait that timed out is the client's deadline, but worth seeing in logs.
    level: statusCode >= 500 && code !== 'shutting_down' ? 'warn' : 'debug',
    body: Object.assign({ error: code, message }, details, { error: code, message }),
  };
}

function checkRouteConfig(route: RouteOptions, config: unknown): void {
  const c = config as Partial<ReadYourWritesRouteConfig> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.projection !== 'string' ||
    c.projection === '' ||
    (c.streamId !== undefined && typeof c.streamId !== 'function')
  ) {
    throw new Error(
      `route ${String(route.method)} ${route.url}: config.readYourWrites must be { projection: string, streamId?: (request) => string }`,
    );
  }
}

const plugin: FastifyPluginAsync<ReadYourWritesPluginOptions> = async (server, options) => {
  const { readYourWrites } = options;
  const maxTimeoutMs = options.maxTimeoutMs ?? contract.DEFAULT_MAX_TIMEOUT_MS;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? Math.min(5000, maxTimeoutMs);
  for (const [name, value] of Object.entries({ maxTimeoutMs, defaultTimeoutMs })) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new Error(`read-your-writes plugin: ${name} must be a non-negative integer`);
    }
  }
  if (defaultTimeoutMs > maxTimeoutMs) {
    throw new Error('read-your-writes plugin: defaultTimeoutMs must not exceed maxTimeoutMs');
  }

  const waitQuery = contract.readYourWritesQuery(maxTimeoutMs);
  const waitHeaders = contract.readYourWritesHeaders(maxTimeoutMs);

  const waitBeforeHandler = (config: ReadYourWritesRouteConfig): preHandlerAsyncHookHandler =>
    async function readYourWritesWait(request: FastifyRequest, reply: FastifyReply) {
      try {
        // Validation errors were attached (below) so they are answered here,
        // in the error shape, whatever the host's error handler.
        if (request.validationError) throw request.validationError;
        const { query, headers } = request as unknown as WaitParams;
        // The query parameter wins over the header.
        const minPosition = query?.minPosition ?? headers['refract-min-position'];
        const timeoutMs = query?.timeoutMs ?? headers['refract-timeout-ms'] ?? defaultTimeoutMs;
        if (!minPosition) return;
        await readYourWrites.waitForPosition(config.projection, {
          streamId: config.streamId?.(request),
          position: minPosition,
          timeoutMs,
        });
      } catch (error) {
        const answer = answerOf(error);
        if (!answer) throw error;
        request.log[answer.level]({ code: answer.body.error }, answer.body.message);
        return reply.code(answer.statusCode).type('application/json').send(answer.body);
      }
    };

  // Each marked route gets the wait as its last preHandler: after the
  // application's own (authentication, say), right before the handler.
  server.addHook('onRoute', (route) => {
    const config = route.config?.readYourWrites;
    if (config === undefined) return;
    checkRouteConfig(route, config);
    route.schema = {
      ...route.schema,
      querystring: withWaitParams(route, 'querystring', waitQuery),
      headers: withWaitParams(route, 'headers', waitHeaders),
    };
    // The schemas are zod's whichever compiler the host set, and a refusal
    // reaches the wait's preHandler rather than a host's own error handler.
    route.validatorCompiler = zodValidatorCompiler as RouteOptions['validatorCompiler'];
    route.attachValidation = true;
    const own = route.preHandler;
    route.preHandler = [
      ...(own === undefined ? [] : Array.isArray(own) ? own : [own]),
      waitBeforeHandler(config),
    ];
  });
};

/**
 * Read-your-writes on the routes that ask for it with
 * `config: { readYourWrites: { projection, streamId? } }`: a request with
 * `?minPosition=` (or the Refract-Min-Position header) waits before the
 * handler until the projection has applied that position, up to `?timeoutMs=`
 * (Refract-Timeout-Ms; default 5000, at most `maxTimeoutMs`). Answers 504
 * `not_caught_up` at the timeout, 400 `invalid_request` naming the field for
 * bad values, 503 `shutting_down` when the watcher closes, 503
 * `dependency_unavailable` for a projection not registered yet. Register it
 * before the routes it serves: it marks them as they are added.
 */
export const readYourWritesPlugin = fp(plugin, {
  fastify: '5.x',
  name: '@refract/read-your-writes',
});
