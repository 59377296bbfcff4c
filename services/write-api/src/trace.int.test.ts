import { randomUUID } from 'node:crypto';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { defineApp, defineProjection, type Projection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { ordersApp } from '@refract/example-orders';
import { createLogger, createMetrics } from '@refract/observability';
import { ProjectorWorker } from '@refract/projector';
import { Relay } from '@refract/relay';
import { createRedisClient, type RedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';

/**
 * One trace per event, end to end: the real write-api app, relay and a
 * projector worker on real Postgres and Redis, with the SDK's in-memory
 * exporter registered as the global tracer provider.
 */
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);

const logger = createLogger({ service: 'trace-test', level: 'silent' });
let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let redis: RedisClient;
let relay: Relay;
let worker: ProjectorWorker;
let app: FastifyInstance;

const traced: Projection = defineProjection({
  name: 'traced',
  version: 1,
  pool: 'trace',
  handles: ['Happened'],
  tables: ['traced'],
  setup: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table('traced')} (stream_id text PRIMARY KEY, count int NOT NULL)`,
  async applyBatch(events, ctx) {
    for (const event of events) {
      await ctx.sql.query(
        `INSERT INTO ${ctx.table('traced')} AS t VALUES ($1, 1)
         ON CONFLICT (stream_id) DO UPDATE SET count = t.count + 1`,
        [event.streamId],
      );
    }
  },
});

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

function append(streamId: string, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: `/streams/${streamId}/events`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  });
}

async function storedMetadata(streamId: string): Promise<Record<string, unknown>[]> {
  const rows = await store.pool.query<{ metadata: Record<string, unknown> }>(
    'SELECT metadata FROM refract.events WHERE stream_id = $1 ORDER BY version',
    [streamId],
  );
  return rows.rows.map((row) => row.metadata);
}

const spansOf = (traceId: string) =>
  exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
const startOf = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1];

beforeAll(async () => {
  db = await createTestDatabase('write_api_trace');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  ns = createTestRedisNamespace('trace');
  store = await EventStore.open({ databaseUrl: db.url });
  redis = createRedisClient(ns.url);
  relay = new Relay({ databaseUrl: db.url, redis, keyPrefix: ns.prefix, pollIntervalMs: 200 });
  relay.start();
  worker = new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    pool: 'trace',
    projections: [traced],
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    logger,
  });
  await worker.start();
  app = buildApp({
    store,
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    app: defineApp({ ...ordersApp.definition, acceptUndeclaredEvents: true }),
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await worker?.close();
  await relay?.close();
  redis?.disconnect();
  await store?.close();
  await ns?.cleanup();
  await db?.drop();
});

beforeEach(() => exporter.reset());

describe('one trace per event', () => {
  it('follows an HTTP append through its append, publish and apply spans, in that order', async () => {
    const streamId = `traced-${randomUUID()}`;
    const response = await append(
      streamId,
      { events: [{ type: 'Happened', data: {}, metadata: { by: 'test' } }] },
      {
        traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`,
        tracestate: 'vendor=abc',
        'x-request-id': 'req-trace-1',
      },
    );
    expect(response.statusCode).toBe(201);

    const spans = await eventually(() => {
      const found = spansOf(TRACE_ID);
      const byName = new Map(found.map((span) => [span.name, span]));
      expect([...byName.keys()]).toEqual(expect.arrayContaining(['append', 'publish', 'apply']));
      return byName;
    });
    const appendSpan = spans.get('append')!;
    const publish = spans.get('publish')!;
    const apply = spans.get('apply')!;

    // The append continues the client's trace; the event stores the append's context.
    expect(appendSpan.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    const appendId = appendSpan.spanContext().spanId;
    expect(await storedMetadata(streamId)).toEqual([
      {
        by: 'test',
        traceparent: `00-${TRACE_ID}-${appendId}-01`,
        tracestate: 'vendor=abc',
        correlationId: TRACE_ID,
        causationId: 'req-trace-1',
      },
    ]);
    // Publish and apply are children of the append, linked to it, in order.
    for (const span of [publish, apply]) {
      expect(span.parentSpanContext?.spanId).toBe(appendId);
      expect(span.links.map((link) => link.context.spanId)).toContain(appendId);
    }
    expect(startOf(appendSpan)).toBeLessThanOrEqual(startOf(publish));
    expect(startOf(publish)).toBeLessThanOrEqual(startOf(apply));
    expect(apply.attributes['refract.projections']).toEqual(['traced']);
  });

  it('starts a trace of its own for an append without traceparent, and ignores a malformed one', async () => {
    const streamId = `untraced-${randomUUID()}`;
    const response = await append(
      streamId,
      { events: [{ type: 'Happened', data: {} }] },
      { traceparent: 'not-a-traceparent', 'x-request-id': 'req-trace-2' },
    );
    expect(response.statusCode).toBe(201);
    const [metadata] = await storedMetadata(streamId);
    const traceId = String(metadata!.traceparent).slice(3, 35);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(metadata).toMatchObject({ correlationId: traceId, causationId: 'req-trace-2' });
    const appendSpan = await eventually(() => {
      const found = spansOf(traceId).find((span) => span.name === 'append');
      expect(found).toBeDefined();
      return found!;
    });
    expect(appendSpan.parentSpanContext).toBeUndefined();
    await eventually(() =>
      expect(spansOf(traceId).map((span) => span.name)).toEqual(
        expect.arrayContaining(['publish', 'apply']),
      ),
    );
  });

  it("stamps a command's events with the command span's context, which the relay continues", async () => {
    const orderId = `o-${randomUUID()}`;
    const response = await app.inject({
      method: 'POST',
      url: '/commands/PlaceOrder',
      headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, 'x-request-id': 'req-cmd' },
      payload: { orderId, customerId: 'c-1' },
    });
    expect(response.statusCode).toBe(200);
    const { streamId } = response.json() as { streamId: string };
    const command = await eventually(() => {
      const found = spansOf(TRACE_ID).find((span) => span.name === 'command');
      expect(found).toBeDefined();
      return found!;
    });
    expect(command.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    const commandId = command.spanContext().spanId;
    const [metadata] = await storedMetadata(streamId);
    expect(metadata).toEqual({
      traceparent: `00-${TRACE_ID}-${commandId}-01`,
      correlationId: TRACE_ID,
      causationId: 'req-cmd',
    });
    await eventually(() =>
      expect(
        spansOf(TRACE_ID).find((span) => span.name === 'publish')?.parentSpanContext?.spanId,
      ).toBe(commandId),
    );
  });

  it('answers a retry that differs only in its trace as the original, and a changed one as a conflict', async () => {
    const streamId = `retried-${randomUUID()}`;
    const id = randomUUID();
    const body = { events: [{ id, type: 'Happened', data: { n: 1 }, metadata: { by: 'test' } }] };
    const first = await append(streamId, body, {
      traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`,
      'x-request-id': 'attempt-1',
    });
    expect(first.statusCode).toBe(201);
    // Another trace, another request id: the stamped keys all differ.
    const retry = await append(streamId, body, {
      traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
      tracestate: 'other=1',
      'x-request-id': 'attempt-2',
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());
    const untraced = await append(streamId, body);
    expect(untraced.statusCode).toBe(200);
    // What the event says still counts: other metadata is a conflict.
    const changed = await append(streamId, {
      events: [{ ...body.events[0], metadata: { by: 'someone else' } }],
    });
    expect(changed.statusCode).toBe(409);
    expect(changed.json()).toMatchObject({ error: 'idempotency_conflict', eventId: id });
    // A refusal is an answer, not a failure of the server span.
    const refused = exporter
      .getFinishedSpans()
      .find((span) => span.attributes['refract.outcome'] === 'idempotency_conflict');
    expect(refused?.status.code).toBe(SpanStatusCode.UNSET);
    expect(await storedMetadata(streamId)).toHaveLength(1);
  });
});
