import type { Socket } from 'node:net';
import { type ErrorCode, httpStatusOf, RefractError } from '@refract/core';
import { isConnectionError } from '@refract/event-store';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Codes of the query API itself. Input and dependency errors carry their code
 * from core's catalog (`ErrorCode`); these cover reads and the HTTP layer.
 */
export type QueryErrorCode =
  | 'order_not_found'
  | 'customer_not_found'
  | 'not_caught_up'
  | 'not_found'
  | 'payload_too_large'
  | 'request_timeout'
  | 'headers_too_large'
  | 'shutting_down'
  | 'internal_error';

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

/** A deliberate answer of this service that core's catalog has no code for. */
export class QueryApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: QueryErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'QueryApiError';
  }
}

export function orderNotFound(orderId: string): QueryApiError {
  return new QueryApiError(404, 'order_not_found', `order ${orderId} does not exist`, { orderId });
}

export function customerNotFound(customerId: string): QueryApiError {
  return new QueryApiError(404, 'customer_not_found', `customer ${customerId} has no orders`, {
    customerId,
  });
}

export function shuttingDown(): QueryApiError {
  return new QueryApiError(
    503,
    'shutting_down',
    'the server is shutting down; retry on another instance',
  );
}

function body(
  error: ErrorCode | QueryErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): ErrorBody {
  // Details never override the code or the message.
  return Object.assign({ error, message }, details, { error, message });
}

/** Framework errors raised before a handler runs: URL decoding, an unexpected body. */
function fromFramework(error: FastifyError): HttpError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        level: 'debug',
        body: body('payload_too_large', 'this API reads no request bodies', { field: 'body' }),
      };
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return {
        statusCode: 400,
        level: 'debug',
        body: body('invalid_request', 'url is malformed or a path segment is too long', {
          field: 'url',
        }),
      };
  }
  // Any other client-side failure to read the request.
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return {
      statusCode: 400,
      level: 'debug',
      body: body('invalid_request', 'the request could not be read', { field: 'request' }),
    };
  }
  return undefined;
}

/**
 * The one mapping from anything thrown to an HTTP answer. Unknown errors get
 * a generic message: their text may quote internals, and the request id is
 * enough to find the logged error.
 */
export function toHttpError(error: unknown, requestId: string): HttpError {
  if (error instanceof QueryApiError) {
    return {
      statusCode: error.statusCode,
      // A wait that timed out is the client's deadline, but worth seeing in logs.
      level: error.code === 'not_caught_up' ? 'warn' : 'debug',
      body: body(error.code, error.message, error.details),
    };
  }
  if (error instanceof RefractError) {
    const statusCode = httpStatusOf(error.code) ?? 500;
    return {
      statusCode,
      level: statusCode >= 500 ? 'warn' : 'debug',
      body: body(error.code, error.message, error.details),
    };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('FST_')) {
    const framework = fromFramework(error as FastifyError);
    if (framework) return framework;
  }
  if (isConnectionError(error)) {
    return {
      statusCode: 503,
      level: 'warn',
      body: body('dependency_unavailable', 'postgres is unavailable', { dependency: 'postgres' }),
    };
  }
  return {
    statusCode: 500,
    level: 'error',
    body: body('internal_error', 'an unexpected error occurred', { requestId }),
  };
}

/** Installs the error and not-found handlers: every failure is answered as `{ error, message, ...details }`. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = toHttpError(error, request.id);
    if (answer.level === 'debug') {
      request.log.debug({ code: answer.body.error }, answer.body.message);
    } else if (answer.statusCode < 500 || answer.body.error === 'not_caught_up') {
      request.log[answer.level]({ code: answer.body.error }, answer.body.message);
    } else {
      request.log[answer.level]({ err: error, code: answer.body.error }, 'request failed');
    }
    return reply.code(answer.statusCode).type('application/json').send(answer.body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .send(body('not_found', `no endpoint ${request.method} ${request.url.slice(0, 200)}`)),
  );
}

/** Used as fastify's `frameworkErrors`: bad percent-encoding or an over-long path segment. */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const answer = toHttpError(error, request.id);
  void reply.code(answer.statusCode).type('application/json').send(answer.body);
}

/**
 * Answers requests Node could not even parse as HTTP, in our error shape
 * (fastify's default writes its own). Runs outside any request, so no logging:
 * these are scanners and broken clients.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let status = '400 Bad Request';
  let answer = body('invalid_request', 'the request is not valid HTTP', { field: 'request' });
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    status = '408 Request Timeout';
    answer = body('request_timeout', 'the request took too long to arrive');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    status = '431 Request Header Fields Too Large';
    answer = body('headers_too_large', 'the request headers are too large', { field: 'headers' });
  }
  const text = JSON.stringify(answer);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
