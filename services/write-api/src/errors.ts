import { errorBody, type HttpError, httpErrorOf } from '@refract/service-kit';
import type { FastifyError } from 'fastify';

/** Postgres refused a value we sent (SQLSTATE class 22, data exception, or 54001, too deeply nested). */
function isDataException(error: unknown): boolean {
  const e = error as { code?: unknown; severity?: unknown } | null;
  return (
    typeof e?.code === 'string' &&
    typeof e.severity === 'string' &&
    (e.code.startsWith('22') || e.code === '54001')
  );
}

/** Framework errors of reading a body: its size, its media type, its JSON. */
function fromFramework(error: FastifyError, bodyLimitBytes: number): HttpError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        statusCode: 413,
        level: 'debug',
        body: errorBody('payload_too_large', `body must be at most ${bodyLimitBytes} bytes`, {
          field: 'body',
          limitBytes: bodyLimitBytes,
        }),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        statusCode: 415,
        level: 'debug',
        body: errorBody('unsupported_media_type', 'body must be sent as application/json', {
          field: 'content-type',
        }),
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        statusCode: 400,
        level: 'debug',
        body: errorBody('invalid_request', `body ${bodyProblem(error.code)}`, { field: 'body' }),
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
 * The write API's mapping from anything thrown to an HTTP answer: the shared
 * one (service-kit's `httpErrorOf`) plus the body's framework errors and
 * values Postgres refused to store.
 */
export function toHttpError(error: unknown, requestId: string, bodyLimitBytes: number): HttpError {
  return httpErrorOf(error, requestId, {
    service: (e) =>
      isDataException(e)
        ? {
            statusCode: 400,
            level: 'warn',
            body: errorBody('invalid_request', 'body holds a value that cannot be stored', {
              field: 'body',
            }),
          }
        : undefined,
    framework: (e) => fromFramework(e, bodyLimitBytes),
    unreadableField: 'body',
  });
}
