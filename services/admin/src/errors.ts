import { RefractError } from '@refract/core';
import { errorBody, type HttpError, httpErrorOf } from '@refract/service-kit';

/** A projection the registry (or this process's catalog) does not know; names the `name` field. */
export function projectionNotFound(name: string): RefractError {
  return new RefractError('projection_not_found', `no projection ${name}`, { field: 'name', name });
}

/**
 * The admin service's mapping from anything thrown to an HTTP answer: the
 * shared one (service-kit's `httpErrorOf`); the job layer's codes
 * (`rebuild_running`, `job_not_found`, `projection_not_found`) are core's.
 */
export function toHttpError(error: unknown, requestId: string): HttpError {
  return httpErrorOf(error, requestId, {
    framework: (e) =>
      e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? {
            statusCode: 413,
            level: 'debug',
            body: errorBody('payload_too_large', 'the admin API reads no request bodies', {
              field: 'body',
            }),
          }
        : undefined,
    unreadableField: 'body',
  });
}

/** Client errors are routine: logged by their message alone. */
export function isExpected(answer: HttpError): boolean {
  return answer.statusCode < 500;
}
