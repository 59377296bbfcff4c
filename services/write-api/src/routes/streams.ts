import {
  InvalidInputError,
  type JsonObject,
  type RecordedEvent,
  type RefractApp,
  RefractError,
} from '@refract/core';
import { type AppendRequest, type EventStore, parseAppendRequest } from '@refract/event-store';
import { integerParam, type ParamRequest, singleParam } from '@refract/service-kit';
import type { FastifyInstance } from 'fastify';
import type { WriteApiMetrics } from '../metrics.js';

/** The most events one read returns; also the default page size. */
export const MAX_READ_LIMIT = 1000;

interface StreamParams {
  streamId: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// A date, or a date and time with seconds optional, fractions optional, and a
// zone (Z or ±hh:mm): a time without a zone would mean the server's zone.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function timeParam(request: ParamRequest, name: string): Date | undefined {
  const text = singleParam(request, name)?.text;
  if (text === undefined) return undefined;
  const date = new Date(text);
  if (!ISO_TIME.test(text) || Number.isNaN(date.getTime())) {
    throw new InvalidInputError(
      name,
      'must be an ISO 8601 time with a zone, e.g. 2025-01-31T12:00:00Z',
    );
  }
  return date;
}

function toApiEvent(event: RecordedEvent) {
  return {
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    version: event.version,
    position: event.position,
    createdAt: event.createdAt.toISOString(),
  };
}

/**
 * The application's declarations are the contract of a raw append: each
 * event must be of a declared type (unless the application accepts others),
 * of a schema version it knows, with a payload its schema accepts. One
 * refused event refuses the request, before anything is stored; the version
 * stored is the one the check answers.
 */
function checkEvents(refract: RefractApp, raw: JsonObject[], append: AppendRequest): void {
  append.events.forEach((event, index) => {
    const { type, data, metadata, schemaVersion } = raw[index] as {
      type: string;
      data: JsonObject;
      metadata?: JsonObject;
      schemaVersion?: number;
    };
    event.schemaVersion = refract.checkEvent(
      { type, data, metadata, schemaVersion },
      `events.${index}`,
    );
  });
}

export function registerStreamRoutes(
  app: FastifyInstance,
  store: EventStore,
  refract: RefractApp,
  metrics: WriteApiMetrics,
): void {
  app.post<{ Params: StreamParams }>('/streams/:streamId/events', async (request, reply) => {
    let outcome = 'error';
    try {
      const body = request.body;
      if (!isPlainObject(body)) throw new InvalidInputError('body', 'must be a JSON object');
      const append = parseAppendRequest(request.params.streamId, body, (type) =>
        store.upcasters.currentVersion(type),
      );
      // parseAppendRequest has checked that `events` is an array of objects.
      checkEvents(refract, body.events as JsonObject[], append);
      const stopTimer = metrics.appendDuration.startTimer();
      const result = await store.appendParsed(append).finally(stopTimer);
      outcome = result.duplicate ? 'duplicate' : 'created';
      // A retry of a stored append is answered as the original was, with 200
      // instead of 201 so a client can tell nothing new was written.
      reply.code(result.duplicate ? 200 : 201);
      return {
        streamId: result.streamId,
        firstVersion: result.firstVersion,
        lastVersion: result.lastVersion,
        firstPosition: result.firstPosition,
        lastPosition: result.lastPosition,
      };
    } catch (error) {
      if (error instanceof RefractError) outcome = error.code;
      throw error;
    } finally {
      metrics.appends.inc({ outcome });
    }
  });

  app.get<{ Params: StreamParams }>('/streams/:streamId', async (request) => {
    const fromVersion = integerParam(request, 'fromVersion') ?? 0;
    const limit = integerParam(request, 'limit', { min: 1, max: MAX_READ_LIMIT }) ?? MAX_READ_LIMIT;
    const asOf = timeParam(request, 'asOf');
    const slice = await store.readStream(request.params.streamId, { fromVersion, limit, asOf });
    return {
      streamId: slice.streamId,
      version: slice.version,
      events: slice.events.map(toApiEvent),
    };
  });
}
