import type { Socket } from 'node:net';
import { httpStatusOf, isConnectionError, RefractError } from '@refract/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export interface ErrorBody {
  error: string;
  message: string;
  [detail: string]: unknown;
}

export interface HttpError {
  statusCode: number;
  body: ErrorBody;
  /** How loudly to log it: client mistakes are routine, our own failures are not. */
  level: 'debug' | 'warn' | 'error';
}

/** A service's mapping from anything thrown to its answer; built on `httpErrorOf`. */
export type ToHttpError = (error: unknown, requestId: string) => HttpError;

/**
 * `{ error, message, ...details }`; details never override the code or the
 * message. `error` is a code of core's catalog (`ErrorCode`), of the HTTP
 * layer (`not_found`, `payload_too_large`, `shutting_down`, …) or of a service.
 */
export function errorBody(
  error: string,
  message: string,
  details: Record<string, unknown> = {},
): ErrorBody {
  return Object.assign({ error, message }, details, { error, message });
}

/** What a request that arrives while the server closes is answered, with 503. */
export function shuttingDownBody(): ErrorBody {
  return errorBody('shutting_down', 'the server is shutting down; retry on another instance');
}

/**
 * A deliberate answer of a service that core's catalog has no code for
 * (`order_not_found`, `job_not_found`, …): its status, code and details are
 * answered as they are, logged at debug.
 */
export class ServiceError<Code extends string = string> extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: Code,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** What a service adds to the shared mapping. */
export interface ErrorMapping {
  /** The service's own errors, tried before anything else. */
  service?: (error: unknown) => HttpError | undefined;
  /** The service's answers to framework (`FST_*`) errors, e.g. body parsing and the body limit. */
  framework?: (error: FastifyError) => HttpError | undefined;
  /** `field` of the 400 for any other request that could not be read: `body`, or `request`. */
  unreadableField: string;
}

/** Framework errors raised before a handler runs that every service answers alike. */
function fromFramework(error: FastifyError, mapping: ErrorMapping): HttpError | undefined {
  const own = mapping.framework?.(error);
  if (own) return own;
  if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return {
      statusCode: 400,
      level: 'debug',
      body: errorBody('invalid_request', 'url is malformed or a path segment is too long', {
        field: 'url',
      }),
    };
  }
  // Any other client-side failure to read the request (an aborted upload, say).
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return {
      statusCode: 400,
      level: 'debug',
      body: errorBody('invalid_request', 'the request could not be read', {
        field: mapping.unreadableField,
      }),
    };
  }
  return undefined;
}

/**
 * A RefractError, also one thrown through another copy of @refract/core: an
 * application module loaded by path (tsx) gets its own, so a decider's
 * RuleViolatedError is not an instance of this one's class.
 */
function isRefractError(error: unknown): error is RefractError {
  if (error instanceof RefractError) return true;
  if (!(error instanceof Error)) return false;
  const { code, details } = error as { code?: unknown; details?: unknown };
  return (
    typeof code === 'string' &&
    httpStatusOf(code as RefractError['code']) !== undefined &&
    typeof details === 'object' &&
    details !== null
  );
}

/**
 * The one mapping from anything thrown to an HTTP answer: the service's own
 * mapping, ServiceErrors, Refract errors with their catalog status, framework errors, lost
 * Postgres connections (503). Unknown errors get a generic 500: their text
 * may quote internals, and the request id is enough to find the logged error.
 */
export function httpErrorOf(error: unknown, requestId: string, mapping: ErrorMapping): HttpError {
  const own = mapping.service?.(error);
  if (own) return own;
  if (error instanceof ServiceError) {
    return {
      statusCode: error.statusCode,
      level: 'debug',
      body: errorBody(error.code, error.message, error.details),
    };
  }
  if (isRefractError(error)) {
    const statusCode = httpStatusOf(error.code) ?? 500;
    return {
      statusCode,
      level: statusCode >= 500 ? 'warn' : 'debug',
      body: errorBody(error.code, error.message, error.details),
    };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('FST_')) {
    const framework = fromFramework(error as FastifyError, mapping);
    if (framework) return framework;
  }
  if (isConnectionError(error)) {
    return {
      statusCode: 503,
      level: 'warn',
      body: errorBody('dependency_unavailable', 'postgres is unavailable', {
        dependency: 'postgres',
      }),
    };
  }
  return {
    statusCode: 500,
    level: 'error',
    body: errorBody('internal_error', 'an unexpected error occurred', { requestId }),
  };
}

export interface ErrorHandlingOptions {
  toHttpError: ToHttpError;
  /**
   * Answers (above debug) to log by their message alone, without the error
   * and its stack: failures that are expected. @defaultValue none
   */
  expected?: (answer: HttpError) => boolean;
}

/** Installs the error and not-found handlers: every failure is answered as `{ error, message, ...details }`. */
export function installErrorHandling(app: FastifyInstance, options: ErrorHandlingOptions): void {
  const { toHttpError, expected } = options;
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = toHttpError(error, request.id);
    if (answer.level === 'debug' || expected?.(answer)) {
      request.log[answer.level]({ code: answer.body.error }, answer.body.message);
    } else {
      request.log[answer.level]({ err: error, code: answer.body.error }, 'request failed');
    }
    return reply.code(answer.statusCode).type('application/json').send(answer.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(errorBody('not_found', `no endpoint ${request.method} ${request.url.slice(0, 200)}`)),
  );
}

/** For fastify's `frameworkErrors`: bad percent-encoding or an over-long path segment. */
export function frameworkErrorHandler(
  toHttpError: ToHttpError,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const answer = toHttpError(error, request.id);
    void reply.code(answer.statusCode).type('application/json').send(answer.body);
  };
}

/**
 * Answers requests Node could not even parse as HTTP, in our error shape
 * (fastify's default writes its own). Runs outside any request, so no
 * logging: these are scanners and broken clients.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status = '400 Bad Request';
  let answer = errorBody('invalid_request', 'the request is not valid HTTP', { field: 'request' });
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = '408 Request Timeout';
    answer = errorBody('request_timeout', 'the request took too long to arrive');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = '431 Request Header Fields Too Large';
    answer = errorBody('headers_too_large', 'the request headers are too large', {
      field: 'headers',
    });
  }
  const text = JSON.stringify(answer);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
