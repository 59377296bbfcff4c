import { ReadYourWritesError } from '@refract/read-your-writes';
import { errorBody, type HttpError, httpErrorOf } from '@refract/service-kit';

/**
 * The query API's mapping from anything thrown to an HTTP answer: a wait
 * that did not end (a query API's handler that called `waitForPosition`
 * itself; marked routes are answered by the plugin), then the shared mapping
 * (service-kit's `httpErrorOf`: core's errors, ServiceErrors, lost Postgres).
 */
export function toHttpError(error: unknown, requestId: string, bodyLimitBytes: number): HttpError {
  return httpErrorOf(error, requestId, {
    service: (e) =>
      e instanceof ReadYourWritesError
        ? {
            statusCode: e.statusCode,
            // A wait that timed out is the client's deadline, but worth seeing in logs.
            level: e.code === 'not_caught_up' ? 'warn' : 'debug',
            body: errorBody(e.code, e.message, e.details),
          }
        : undefined,
    framework: (e) =>
      e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? {
            statusCode: 413,
            level: 'debug',
            body: errorBody('payload_too_large', `body must be at most ${bodyLimitBytes} bytes`, {
              field: 'body',
              limitBytes: bodyLimitBytes,
            }),
          }
        : undefined,
    unreadableField: 'request',
  });
}

/**
 * Expected failures, logged by their message alone: client errors, and waits
 * that ran out of time.
 */
export function isExpected(answer: HttpError): boolean {
  return answer.statusCode < 500 || answer.body.error === 'not_caught_up';
}
