import {
  EVENT_TYPE_MAX_LENGTH,
  EVENT_TYPE_PATTERN,
  isJsonObject,
  STREAM_ID_MAX_LENGTH,
  STREAM_ID_PATTERN,
} from '@refract/core';
import { z } from 'zod';
import { errorBody, integerText, singleText } from './common.js';

/** At most this many events in one append (the event store's own bound). */
export const MAX_EVENTS_PER_APPEND = 1000;
/** The largest schema version: the column is a Postgres integer. */
export const MAX_SCHEMA_VERSION = 2_147_483_647;
/** The most events one stream read returns; also its default page size. */
export const MAX_READ_LIMIT = 1000;
/** The request header that makes a command take effect at most once. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
/** The response header of a command answered from its idempotency key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** 1 to 200 visible ASCII characters: no space, no control character. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
// A date, or a date and time with a zone (Z or ±hh:mm): a time without a
// zone would mean the server's zone.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * A JSON object whose keys are open: event payloads are the application's to
 * check. A check, not a record schema: a record copies every payload key by
 * key on every append, for an answer that is the same (JSON keys are
 * strings, and the values are checked later).
 */
const openObject = (message: string) =>
  z
    .custom<Record<string, unknown>>(isJsonObject, { error: message })
    .meta({ type: 'object', additionalProperties: {} });

export const streamId = z
  .string({ error: 'must be a non-empty string' })
  .min(1, 'must be a non-empty string')
  .max(STREAM_ID_MAX_LENGTH, `must be at most ${STREAM_ID_MAX_LENGTH} characters`)
  .regex(
    STREAM_ID_PATTERN,
    'may contain only letters, digits and _ . : @ - and must start with a letter or digit',
  );

export const streamParams = z.strictObject({ streamId });

export const expectedVersion = z.union(
  [z.enum(['any', 'no_stream', 'stream_exists']), z.int().min(0).max(Number.MAX_SAFE_INTEGER)],
  { error: 'must be "any", "no_stream", "stream_exists" or a non-negative integer' },
);

/**
 * One event of an append. The envelope is closed (an unknown key is refused);
 * `data` and `metadata` are open objects, checked against the application's
 * event types by the server, not by this schema.
 */
export const newEvent = z.strictObject(
  {
    id: z.string({ error: 'must be a UUID' }).regex(UUID, 'must be a UUID').optional(),
    type: z
      .string({ error: 'must be a non-empty string' })
      .min(1, 'must be a non-empty string')
      .max(EVENT_TYPE_MAX_LENGTH, `must be at most ${EVENT_TYPE_MAX_LENGTH} characters`)
      .regex(
        EVENT_TYPE_PATTERN,
        `must start with a letter and contain only letters, digits and _ . : - (at most ${EVENT_TYPE_MAX_LENGTH})`,
      ),
    data: openObject('must be an object'),
    metadata: openObject('must be an object').optional(),
    schemaVersion: z
      .int({ error: `must be an integer from 1 to ${MAX_SCHEMA_VERSION}` })
      .min(1, `must be an integer from 1 to ${MAX_SCHEMA_VERSION}`)
      .max(MAX_SCHEMA_VERSION, `must be an integer from 1 to ${MAX_SCHEMA_VERSION}`)
      .optional(),
  },
  { error: 'must be an object' },
);

export const appendBody = z.strictObject(
  {
    expectedVersion: expectedVersion.optional(),
    events: z
      .array(newEvent, { error: 'must be an array' })
      .min(1, 'must contain at least one event')
      .max(MAX_EVENTS_PER_APPEND, `must contain at most ${MAX_EVENTS_PER_APPEND} events`),
  },
  { error: 'must be a JSON object' },
);

export const appendResult = z.object({
  streamId: z.string(),
  firstVersion: z.int(),
  lastVersion: z.int(),
  firstPosition: z.int(),
  lastPosition: z.int(),
});

export const readStreamQuery = z.strictObject({
  fromVersion: integerText().optional(),
  limit: integerText({ min: 1, max: MAX_READ_LIMIT }).optional(),
  asOf: singleText()
    .regex(ISO_TIME, 'must be an ISO 8601 time with a zone, e.g. 2025-01-31T12:00:00Z')
    .refine(
      (text) => !Number.isNaN(new Date(text).getTime()),
      'must be an ISO 8601 time with a zone, e.g. 2025-01-31T12:00:00Z',
    )
    .transform((text) => new Date(text))
    .optional(),
});

export const recordedEvent = z.object({
  id: z.string(),
  type: z.string(),
  data: z.record(z.string(), z.unknown()),
  metadata: z.record(z.string(), z.unknown()),
  version: z.int(),
  position: z.int(),
  /** ISO 8601, UTC. */
  createdAt: z.string(),
});

export const readStreamResult = z.object({
  streamId: z.string(),
  /** The stream's version (as of `asOf`), not the page's. */
  version: z.int(),
  events: z.array(recordedEvent),
});

/**
 * W3C Trace Context of an append or a command: stored in each event's
 * metadata. A malformed value starts a new trace rather than failing the
 * request, as the W3C recommendation asks.
 */
const traceHeaders = {
  traceparent: z.string().describe('W3C traceparent, e.g. 00-<trace id>-<span id>-01').optional(),
  tracestate: z.string().describe('W3C tracestate, kept with traceparent').optional(),
};
export const appendHeaders = z.looseObject(traceHeaders);

export const commandParams = z.strictObject({ commandType: z.string() });
/** The command's own fields: the application's schema checks them on the server. */
export const commandBody = openObject('must be a JSON object');
export const commandHeaders = z.looseObject({
  ...traceHeaders,
  'idempotency-key': singleText()
    .regex(IDEMPOTENCY_KEY, 'must be 1 to 200 visible ASCII characters')
    .optional(),
});
export const commandResult = z.object({
  streamId: z.string(),
  version: z.int(),
  /** The position of the command's last event; null when it decided nothing. */
  position: z.int().nullable(),
});

/** Each route's schemas, as service-kit's type provider and the client read them. */
export const writeApiRoutes = {
  append: {
    method: 'POST',
    url: '/streams/:streamId/events',
    schema: {
      params: streamParams,
      headers: appendHeaders,
      body: appendBody,
      response: {
        200: appendResult.describe('a retry: the original append, nothing written'),
        201: appendResult,
        400: errorBody,
        409: errorBody,
        422: errorBody,
      },
    },
  },
  readStream: {
    method: 'GET',
    url: '/streams/:streamId',
    schema: {
      params: streamParams,
      querystring: readStreamQuery,
      response: { 200: readStreamResult, 400: errorBody, 404: errorBody },
    },
  },
  command: {
    method: 'POST',
    url: '/commands/:commandType',
    schema: {
      params: commandParams,
      headers: commandHeaders,
      body: commandBody,
      response: {
        200: commandResult,
        400: errorBody,
        404: errorBody,
        409: errorBody,
        422: errorBody,
      },
    },
  },
} as const;

export type NewEvent = z.input<typeof newEvent>;
export type AppendBody = z.input<typeof appendBody>;
export type ExpectedVersion = z.input<typeof expectedVersion>;
export type AppendResult = z.output<typeof appendResult>;
export type ReadStreamQuery = z.input<typeof readStreamQuery>;
export type RecordedEvent = z.output<typeof recordedEvent>;
export type ReadStreamResult = z.output<typeof readStreamResult>;
export type CommandResult = z.output<typeof commandResult>;
