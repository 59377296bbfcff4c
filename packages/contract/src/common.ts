import { z } from 'zod';

/**
 * The one error body of write-api, query-api and admin:
 * `{ error, message, ...details }`. Clients match on `error`; `field` names
 * the offending input of a 400 (`events.0.type`, `limit`, `Idempotency-Key`).
 */
export const errorBody = z.looseObject({
  error: z.string(),
  message: z.string(),
  field: z.string().optional(),
});
export type ErrorBody = z.output<typeof errorBody>;

/** What a repeated query parameter or header (`?a=1&a=2`) is told. */
export const GIVEN_ONCE = 'must be given once';

function integerRule(min: number, max: number): string {
  if (max < Number.MAX_SAFE_INTEGER) return `must be an integer from ${min} to ${max}`;
  return min === 0 ? 'must be a non-negative integer' : `must be an integer of at least ${min}`;
}

/**
 * A query parameter or header holding a decimal integer from `min` to `max`,
 * read as a number. Plain digits only: a sign, a fraction, an exponent or an
 * empty value is refused rather than guessed at.
 */
export function integerText(options: { min?: number; max?: number } = {}) {
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = options;
  const rule = integerRule(min, max);
  return z
    .string({ error: GIVEN_ONCE })
    .regex(/^\d+$/, rule)
    .refine((text) => {
      const value = Number(text);
      return Number.isSafeInteger(value) && value >= min && value <= max;
    }, rule)
    .transform(Number);
}

/** A text query parameter or header given at most once. */
export function singleText() {
  return z.string({ error: GIVEN_ONCE });
}

/** Probes every HTTP service answers (`/healthz`, `/readyz`, `/metrics`). */
export const healthzResponse = z.object({ status: z.string().describe('"ok"') });
export const readyzResponse = z.looseObject({ status: z.string().describe('"ready"') });
/** Prometheus text format. */
export const metricsResponse = z.string();

/** The probes' route schemas, shared by every service. */
export const probeSchemas = {
  healthz: { response: { 200: healthzResponse } },
  readyz: { response: { 200: readyzResponse, 503: errorBody } },
  metrics: { response: { 200: metricsResponse } },
};
