import type { Socket } from 'node:net';
import { type ErrorCode, httpStatusOf, RefractError } from '@refract/core';
import { isConnectionError } from '@refract/event-store';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Codes of the HTTP layer itself. Domain and storage errors carry their code
 * from core's catalog (`ErrorCode`); these cover what never reaches a handler.
 */
export type HttpErrorCode =
  | 'not_found'
  | 'payload_too_large'
  | 'unsupported_media_type'
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

function body(
  error: ErrorCode | HttpErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): ErrorBody {
  // Details never override the code or the message.
  return Object.assign({ error, message }, details, { error, message });
}

/** Postgres refused a value we sent (SQLSTATE class 22, data exception, or 54001, too deeply nested). */
function isDataException(error: unknown): boolean {
  const e = error as { code?: unknown; severity?: unknown } | null;
  return (
    typeof e?.code === 'string' &&
    typeof e.severity === 'string' &&
    (e.code.startsWith('22') || e.code === '54001')
  );
}

/** Framework errors raised before a handler runs: body parsing, URL decoding. */
function fromFramework(error: FastifyError, bodyLimitBytes: number): HttpError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        level: 'debug',
        body: body('payload_too_large', `body must be at most ${bodyLimitBytes} bytes`, {
          field: 'body',
          limitBytes: bodyLimitBytes,
        }),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        statusCode: 415,
        level: 'debug',
        body: body('unsupported_media_type', 'body must be sent as application/json', {
          field: 'content-type',
        }),
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        statusCode: 400,
        level: 'debug',
        body: body('invalid_request', `body ${bodyProblem(error.code)}`, { field: 'body' }),
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
  // Any other client-side failure to read the request (an aborted upload, say).
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return {
      statusCode: 400,
      level: 'debug',
      body: body('invalid_request', 'the request could not be read', { field: 'body' }),
    };
  }
  return undefined;
}

function bodyProblem(code: string): string {
  if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'must not be empty';
  if (code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') return 'does not match its Content-Length';
  return 'is not valid JSON';
}

/**
 * The one mapping from anything thrown to an HTTP answer. Unknown errors get
 * a generic message: their text may quote internals, and the request id is
 * enough to find the logged error.
 */
export function toHttpError(error: unknown, requestId: string, bodyLimitBytes: number): HttpError {
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
    const framework = fromFramework(error as FastifyError, bodyLimitBytes);
    if (framework) return framework;
  }
  if (isDataException(error)) {
    return {
      statusCode: 400,
      level: 'warn',
      body: body('invalid_request', 'body holds a value that cannot be stored', { field: 'body' }),
    };
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

export function shuttingDownBody(): ErrorBody {
  return body('shutting_down', 'the server is shutting down; retry on another instance');
}

/** Installs the error and not-found handlers: every failure is answered as `{ error, message, ...details }`. */
export function installErrorHandling(app: FastifyInstance, bodyLimitBytes: number): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = toHttpError(error, request.id, bodyLimitBytes);
    if (answer.level === 'debug') {
      request.log.debug({ code: answer.body.error }, answer.body.message);
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
  bodyLimitBytes: number,
): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const answer = toHttpError(error, request.id, bodyLimitBytes);
    void reply.code(answer.statusCode).type('application/json').send(answer.body);
  };
}

/**
 * Answers requests Node could not even parse as HTTP, in our error shape
 * (fastify's default writes its own). Runs outside any request, so no logging
 * beyond trace: these are scanners and broken clients.
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
