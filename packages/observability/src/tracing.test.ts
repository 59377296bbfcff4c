import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import {
  carrierOf,
  contextFromCarrier,
  eventsSpanPlacement,
  parseTraceparent,
  toCarrier,
} from './tracing.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const parentOf = (carrier: { traceparent?: string }) =>
  trace.getSpanContext(contextFromCarrier(carrier));

describe('W3C trace context', () => {
  it('parses a traceparent and its tracestate, and writes them back unchanged', () => {
    const spanContext = parseTraceparent(`00-${TRACE}-${SPAN}-01`, 'a=1,b=2');
    expect(spanContext).toMatchObject({ traceId: TRACE, spanId: SPAN, traceFlags: 1 });
    expect(toCarrier(spanContext!)).toEqual({
      traceparent: `00-${TRACE}-${SPAN}-01`,
      tracestate: 'a=1,b=2',
    });
  });

  it('refuses what the recommendation calls invalid, so a new trace starts instead', () => {
    for (const bad of [
      undefined,
      '',
      'not-a-traceparent',
      `00-${'0'.repeat(32)}-${SPAN}-01`, // zero trace id
      `00-${TRACE}-${'0'.repeat(16)}-01`, // zero span id
      `ff-${TRACE}-${SPAN}-01`, // forbidden version
      `00-${TRACE}-${SPAN}-01-extra`, // version 00 has no more fields
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    ]) {
      expect(parseTraceparent(bad), String(bad)).toBeUndefined();
      expect(parentOf({ traceparent: bad })).toBeUndefined();
    }
    // A later version may add fields, which are ignored.
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)?.traceId).toBe(TRACE);
  });

  it('reads a carrier out of event metadata without trusting its shape', () => {
    expect(carrierOf({ traceparent: 'x', tracestate: 'y', other: 1 })).toEqual({
      traceparent: 'x',
      tracestate: 'y',
    });
    expect(carrierOf({ traceparent: 5 })).toBeUndefined();
    expect(carrierOf(null)).toBeUndefined();
    expect(carrierOf('text')).toBeUndefined();
  });
});

describe('a span over many events', () => {
  const of = (trace: string, span: string) => ({ traceparent: `00-${trace}-${span}-01` });

  it('is a child of their trace when they share one, linked to each distinct context', () => {
    const { parent, links } = eventsSpanPlacement([
      of(TRACE, SPAN),
      undefined,
      of(TRACE, SPAN),
      of(TRACE, 'aaaaaaaaaaaaaaaa'),
    ]);
    expect(trace.getSpanContext(parent)?.spanId).toBe(SPAN);
    expect(links.map((link) => link.context.spanId)).toEqual([SPAN, 'aaaaaaaaaaaaaaaa']);
  });

  it('is a root linked to each trace when they mix traces', () => {
    const other = 'b'.repeat(32);
    const { parent, links } = eventsSpanPlacement([of(TRACE, SPAN), of(other, SPAN)]);
    expect(trace.getSpanContext(parent)).toBeUndefined();
    expect(links.map((link) => link.context.traceId)).toEqual([TRACE, other]);
  });

  it('keeps at most 128 links', () => {
    const carriers = Array.from({ length: 300 }, (_, i) =>
      of(TRACE, (i + 1).toString(16).padStart(16, '0')),
    );
    expect(eventsSpanPlacement(carriers).links).toHaveLength(128);
  });
});
