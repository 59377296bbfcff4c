import { errorBody, type HttpError, httpErrorOf, ServiceError } from '@refract/service-kit';

/**
 * Codes of the query API's own answers; input and dependency errors carry
 * their code from core's catalog, the HTTP layer's come from service-kit.
 */
export type QueryErrorCode =
  | 'order_not_found'
  | 'customer_not_found'
  | 'not_caught_up'
  | 'shutting_down';

/** A deliberate answer of this service that core's catalog has no code for. */
export class QueryApiError extends ServiceError<QueryErrorCode> {}

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

/**
 * The query API's mapping from anything thrown to an HTTP answer: its own
 * errors, then the shared mapping (service-kit's `httpErrorOf`). It reads no
 * request bodies, so any body over the tiny limit is refused.
 */
export function toHttpError(error: unknown, requestId: string): HttpError {
  return httpErrorOf(error, requestId, {
    service: (e) =>
      e instanceof QueryApiError
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
            body: errorBody('payload_too_large', 'this API reads no request bodies', {
              field: 'body',
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
