import type { ErrorBody } from '@refract/contract';

/**
 * An HTTP answer other than success, as a value: the server's `error` code
 * (`wrong_expected_version`, `invalid_request`, `idempotency_conflict`, …),
 * the `field` a 400 names, the status and the whole body with its details.
 * Match on `code`, never on `message`.
 */
export class RefractHttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly body: ErrorBody;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.name = 'RefractHttpError';
    this.status = status;
    this.code = body.error;
    this.field = typeof body.field === 'string' ? body.field : undefined;
    this.body = body;
  }
}

/** The request never got an answer (connection refused, reset, timed out), after every retry. */
export class RefractNetworkError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'RefractNetworkError';
  }
}

/** A body in the error shape, else one made from the status (a proxy's HTML page, say). */
export function errorBodyOf(status: number, text: string): ErrorBody {
  try {
    const parsed: unknown = JSON.parse(text);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as ErrorBody).error === 'string' &&
      typeof (parsed as ErrorBody).message === 'string'
    ) {
      return parsed as ErrorBody;
    }
  } catch {
    // Not JSON: described below.
  }
  return { error: `http_${status}`, message: `HTTP ${status}: ${text.slice(0, 200)}` };
}
