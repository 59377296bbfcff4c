import { writeApi } from '@refract/contract';
import { type JsonObject, type RecordedEvent, type RefractApp, RefractError } from '@refract/core';
import { type AppendRequest, type EventStore, parseAppendRequest } from '@refract/event-store';
import { contextFromCarrier, inSpan, SpanKind, toCarrier } from '@refract/observability';
import type { ContractApp } from '@refract/service-kit';
import type { WriteApiMetrics } from '../metrics.js';
import { isClientError, traceStamp } from '../trace-metadata.js';

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
  app: ContractApp,
  store: EventStore,
  refract: RefractApp,
  metrics: WriteApiMetrics,
): void {
  const { append: appendRoute, readStream } = writeApi.writeApiRoutes;
  app.post(appendRoute.url, { schema: appendRoute.schema }, async (request, reply) => {
    let outcome = 'error';
    const { streamId } = request.params;
    const { traceparent, tracestate } = request.headers;
    const parent = contextFromCarrier({ traceparent, tracestate });
    const attributes = { 'refract.stream_id': streamId };
    return inSpan(
      'append',
      { parent, kind: SpanKind.SERVER, attributes, expected: isClientError },
      async (span) => {
        try {
          // The schema has checked the envelope; this prepares it for the log
          // (ids, duplicate ids, the default schema version), as for library callers.
          const body = request.body;
          const append = parseAppendRequest(
            streamId,
            body,
            (type) => store.upcasters.currentVersion(type),
            traceStamp(toCarrier(span.spanContext()), request.id),
          );
          // parseAppendRequest has checked that `events` is an array of objects.
          checkEvents(refract, body.events as JsonObject[], append);
          const stopTimer = metrics.appendDuration.startTimer();
          const result = await store.appendParsed(append).finally(stopTimer);
          outcome = result.duplicate ? 'duplicate' : 'created';
          span.setAttribute('refract.last_position', result.lastPosition);
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
          span.setAttribute('refract.outcome', outcome);
        }
      },
    );
  });

  app.get(readStream.url, { schema: readStream.schema }, async (request) => {
    const { fromVersion = 0, limit = writeApi.MAX_READ_LIMIT, asOf } = request.query;
    const slice = await store.readStream(request.params.streamId, { fromVersion, limit, asOf });
    return {
      streamId: slice.streamId,
      version: slice.version,
      events: slice.events.map(toApiEvent),
    };
  });
}
