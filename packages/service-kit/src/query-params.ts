import { InvalidInputError } from '@refract/core';

/** What the helpers read of a request (a fastify request is one). */
export interface ParamRequest {
  query?: unknown;
  headers?: Record<string, string | string[] | undefined>;
}

/** A parameter's text and the field it came from: the query parameter, or the header. */
export interface ParamValue {
  text: string;
  field: string;
}

/**
 * The one value of query parameter `name`, else of `header` when one is
 * given (for clients that set it on every request). Given twice (`?a=1&a=2`,
 * a repeated header) is a 400 naming the parameter or header.
 */
export function singleParam(
  request: ParamRequest,
  name: string,
  header?: string,
): ParamValue | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.[name];
  if (value !== undefined) {
    if (typeof value !== 'string') throw new InvalidInputError(name, 'must be given once');
    return { text: value, field: name };
  }
  if (header === undefined) return undefined;
  const headerValue = request.headers?.[header.toLowerCase()];
  if (headerValue === undefined) return undefined;
  if (typeof headerValue !== 'string') throw new InvalidInputError(header, 'must be given once');
  return { text: headerValue, field: header };
}

export interface IntegerParamOptions {
  /** @defaultValue 0 */
  min?: number;
  /** @defaultValue Number.MAX_SAFE_INTEGER */
  max?: number;
  /** The header read when the query does not give the parameter. */
  header?: string;
}

/**
 * `singleParam` as a decimal integer from `min` to `max`; anything else
 * (a sign, a fraction, an exponent, an empty value, out of range) is a 400
 * naming where it came from.
 */
export function integerParam(
  request: ParamRequest,
  name: string,
  options: IntegerParamOptions = {},
): number | undefined {
  const { min = 0, max = Number.MAX_SAFE_INTEGER, header } = options;
  const param = singleParam(request, name, header);
  if (param === undefined) return undefined;
  const value = Number(param.text);
  if (!/^\d+$/.test(param.text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(param.field, integerRule(min, max));
  }
  return value;
}

function integerRule(min: number, max: number): string {
  if (max < Number.MAX_SAFE_INTEGER) return `must be an integer from ${min} to ${max}`;
  return min === 0 ? 'must be a non-negative integer' : `must be an integer of at least ${min}`;
}
