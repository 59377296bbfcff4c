import {
  type Attributes,
  type Context,
  context,
  createTraceState,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';

export { type Span, SpanKind, SpanStatusCode, type Tracer };

/**
 * Refract's tracer. Without a registered SDK (service-kit registers one when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` is set) its spans are non-recording and cost
 * next to nothing; the API's proxy picks up a provider registered later.
 */
export function tracer(): Tracer {
  return trace.getTracer('refract');
}

/** An event's trace context as its metadata stores it (W3C Trace Context strings). */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/**
 * The event metadata keys the write path stamps. They describe how an event
 * travelled, not what it says: an idempotent retry that differs only in them
 * is the same append (`refract.append_batch` compares metadata without them).
 */
export const TRACE_METADATA_KEYS = [
  'traceparent',
  'tracestate',
  'correlationId',
  'causationId',
] as const;

// version 00 (later versions may append fields, which W3C says to ignore)
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * Parses a W3C `traceparent` (and optional `tracestate`) into a remote span
 * context; undefined for anything malformed, as the spec asks (a bad
 * header starts a new trace rather than failing the request).
 */
export function parseTraceparent(
  traceparent: string | undefined,
  tracestate?: string,
): SpanContext | undefined {
  if (traceparent === undefined || traceparent.length > 512) return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: Number.parseInt(flags!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (!isSpanContextValid(spanContext)) return undefined;
  if (tracestate !== undefined && tracestate.length <= 512) {
    spanContext.traceState = createTraceState(tracestate);
  }
  return spanContext;
}

/** The W3C strings of a span context; empty when it is invalid (no trace). */
export function toCarrier(spanContext: SpanContext): TraceCarrier {
  if (!isSpanContextValid(spanContext)) return {};
  const flags = (spanContext.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  const carrier: TraceCarrier = {
    traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`,
  };
  const state = spanContext.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/** A context whose parent is the carrier's span, or the root context. */
export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  const parent = parseTraceparent(carrier?.traceparent, carrier?.tracestate);
  return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
}

/** The carrier of the active span (a job enqueued inside a traced request), if any. */
export function activeCarrier(): TraceCarrier {
  const span = trace.getSpan(context.active());
  return span ? toCarrier(span.spanContext()) : {};
}

/** Most links one span carries (the SDK's default span limit). */
const MAX_LINKS = 128;

/**
 * Where a span over many events (a relay round, a projector batch) belongs.
 * It links to each distinct stored context (up to 128), and when all of them
 * are of one trace it is also that trace's child, so a lone append reads as
 * one trace end to end; a batch mixing traces is a root of its own, reached
 * from each of them through its links.
 */
export function eventsSpanPlacement(carriers: Iterable<TraceCarrier | undefined>): {
  parent: Context;
  links: Link[];
} {
  const seen = new Set<string>();
  const links: Link[] = [];
  let traceId: string | undefined;
  let single = true;
  for (const carrier of carriers) {
    const traceparent = carrier?.traceparent;
    if (traceparent === undefined || seen.has(traceparent)) continue;
    seen.add(traceparent);
    const spanContext = parseTraceparent(traceparent, carrier?.tracestate);
    if (!spanContext) continue;
    if (traceId === undefined) traceId = spanContext.traceId;
    else if (traceId !== spanContext.traceId) single = false;
    if (links.length < MAX_LINKS) links.push({ context: spanContext });
  }
  const first = links[0]?.context;
  const parent = single && first ? trace.setSpanContext(ROOT_CONTEXT, first) : ROOT_CONTEXT;
  return { parent, links };
}

/** The carrier an event's metadata holds, read without trusting its shape. */
export function carrierOf(metadata: unknown): TraceCarrier | undefined {
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const { traceparent, tracestate } = metadata as Record<string, unknown>;
  if (typeof traceparent !== 'string') return undefined;
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
}

/**
 * Runs `work` in a span of `name`, ending it when the work settles; a throw
 * is recorded on the span (status error) and rethrown, unless `expected`
 * says it is an answer rather than a failure (a 4xx of a server span).
 */
export async function inSpan<T>(
  name: string,
  options: {
    parent?: Context;
    links?: Link[];
    kind?: SpanKind;
    attributes?: Attributes;
    expected?: (error: unknown) => boolean;
  },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const { parent = context.active(), expected, ...spanOptions } = options;
  const span = tracer().startSpan(name, spanOptions, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    if (expected?.(error)) throw error;
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}
