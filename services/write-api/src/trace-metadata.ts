import { httpStatusOf, type JsonObject, RefractError } from '@refract/core';
import type { TraceCarrier } from '@refract/observability';

/**
 * The metadata a traced append stores with each event: the append span's
 * W3C context (so the relay and the workers can continue the trace; with
 * no trace, a client's own `traceparent` stays as sent), the
 * correlation id (the client's own, else the trace id, else the request
 * id) and the causation id (the client's own, else the request id: the
 * request caused the event).
 */
export function traceStamp(
  carrier: TraceCarrier,
  requestId: string,
): (metadata: JsonObject) => JsonObject {
  const traceId = carrier.traceparent?.slice(3, 35);
  return (metadata) => {
    const stamped: JsonObject = { ...metadata };
    // The append span's context replaces a client's own: it is what the
    // relay and the workers link to.
    if (carrier.traceparent) {
      stamped.traceparent = carrier.traceparent;
      if (carrier.tracestate) stamped.tracestate = carrier.tracestate;
      else delete stamped.tracestate;
    }
    if (typeof stamped.correlationId !== 'string') stamped.correlationId = traceId ?? requestId;
    if (typeof stamped.causationId !== 'string') stamped.causationId = requestId;
    return stamped;
  };
}

/** A refusal answered 4xx: the server span did its job, so no error status (OpenTelemetry's HTTP conventions). */
export function isClientError(error: unknown): boolean {
  return error instanceof RefractError && httpStatusOf(error.code) < 500;
}
