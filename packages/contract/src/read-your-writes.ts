import { z } from 'zod';
import { errorBody, integerText } from './common.js';

/** The header form of `?minPosition=`, for clients that add it to every read. */
export const MIN_POSITION_HEADER = 'Refract-Min-Position';
/** The header form of `?timeoutMs=`. */
export const TIMEOUT_HEADER = 'Refract-Timeout-Ms';
/**
 * query-api's `QUERY_API_MAX_TIMEOUT_MS` when unset: the longest wait a read may
 * ask for. Short: each waiting read holds a request open, a cheap way to load a server.
 */
export const DEFAULT_MAX_TIMEOUT_MS = 10_000;

/**
 * The query parameters a read-your-writes route accepts beside its own:
 * `minPosition` (wait until the projection has applied it; absent or 0, no
 * wait) and `timeoutMs` (from 0 to the server's maximum).
 */
export function readYourWritesQuery(maxTimeoutMs = DEFAULT_MAX_TIMEOUT_MS) {
  return {
    minPosition: integerText().optional(),
    timeoutMs: integerText({ max: maxTimeoutMs }).optional(),
  };
}

/** The same two as headers (lower case, as fastify sees headers); the query wins. */
export function readYourWritesHeaders(maxTimeoutMs = DEFAULT_MAX_TIMEOUT_MS) {
  return {
    'refract-min-position': integerText().optional(),
    'refract-timeout-ms': integerText({ max: maxTimeoutMs }).optional(),
  };
}

/** What a client sends: positions as numbers, turned into the query text. */
export interface ReadYourWritesParams {
  minPosition?: number;
  timeoutMs?: number;
}

/** The 504 of a wait that timed out. */
export const notCaughtUpBody = errorBody.extend({
  error: z.literal('not_caught_up'),
  projection: z.string(),
  minPosition: z.int(),
  timeoutMs: z.int(),
  pending: z
    .array(z.object({ partition: z.int(), target: z.int(), checkpoint: z.int() }))
    .optional(),
});
export type NotCaughtUpBody = z.output<typeof notCaughtUpBody>;

/** What a read-your-writes route answers besides its own answers. */
export const readYourWritesResponses = { 400: errorBody, 503: errorBody, 504: notCaughtUpBody };
