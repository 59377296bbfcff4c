import { errorBody, type HttpError, httpErrorOf, ServiceError } from '@refract/service-kit';

/**
 * Codes of the admin service's own answers; input errors and parked-event
 * errors carry their code from core's catalog, the HTTP layer's come from
 * service-kit.
 */
export type AdminErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'projection_not_found'
  | 'job_not_found'
  | 'rebuild_running'
  | 'rebuild_unavailable';

/** A deliberate answer of this service that core's catalog has no code for. */
export class AdminError extends ServiceError<AdminErrorCode> {}

export function projectionNotFound(name: string): AdminError {
  return new AdminError(404, 'projection_not_found', `no projection ${name}`, {
    field: 'name',
    name,
  });
}

export function jobNotFound(jobId: string): AdminError {
  return new AdminError(404, 'job_not_found', `no rebuild job ${jobId}`, { field: 'jobId', jobId });
}

/**
 * The admin service's mapping from anything thrown to an HTTP answer: the
 * shared one (service-kit's `httpErrorOf`, which answers AdminErrors too).
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
