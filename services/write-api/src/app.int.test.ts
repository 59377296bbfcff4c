import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { compileErrors, validate } from '@readme/openapi-parser';
import {
  type AnyCommandRoute,
  commandRoute,
  defineApp,
  defineDecider,
  InvalidInputError,
} from '@refract/core';
import { EventStore, MAX_JSON_DEPTH, migrate } from '@refract/event-store';
import { orderCommands, ordersApp } from '@refract/example-orders';
import { createLogger, createMetrics } from '@refract/observability';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type { FastifyInstance, InjectOptions } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { writeApiMetrics } from './metrics.js';

let db: TestDatabase;
let store: EventStore;
let app: FastifyInstance;
let sql: pg.Pool;
const metrics = createMetrics();
const logLines: Record<string, unknown>[] = [];

/** A route whose decider fails the way a bug would, to see what a 500 looks like. */
const explodeRoute: AnyCommandRoute = commandRoute({
  type: 'Explode',
  parse: (input) => {
    if (typeof input !== 'object' || input === null) {
      throw new InvalidInputError('body', 'must be a JSON object');
    }
    return input;
  },
  streamId: () => `explode-${randomUUID()}`,
  decider: defineDecider<unknown, { type: 'Never'; data: { n: number } }, null>({
    name: 'explode',
    initialState: () => null,
    evolve: (state) => state,
    decide: () => {
      throw new Error('secret internal detail at /srv/app.ts:42');
    },
  }),
});

/**
 * The orders example plus the route above. Most tests here append arbitrary
 * event types (`A`, `Happened`), so undeclared types are accepted; the
 * checks of declared ones are in event-checks.int.test.ts.
 */
const testApp = defineApp({
  ...ordersApp.definition,
  commands: [...orderCommands, explodeRoute],
  acceptUndeclaredEvents: true,
});

beforeAll(async () => {
  db = await createTestDatabase('write_api');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  store = await EventStore.open({
    databaseUrl: db.url,
    onCommit: writeApiMetrics(metrics).onCommit,
  });
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  const logger = createLogger({
    service: 'write-api',
    level: 'debug',
    destination: { write: (line: string) => void logLines.push(JSON.parse(line)) },
  });
  app = buildApp({ store, logger, metrics, app: testApp });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  await sql?.end();
  await db?.drop();
});

const stream = () => `s-${randomUUID()}`;
const event = (type = 'Happened', data: Record<string, unknown> = { n: 1 }) => ({ type, data });

function append(streamId: string, body: unknown, headers: Record<string, string> = {}) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return app.inject({
    method: 'POST',
    url: `/streams/${streamId}/events`,
    payload,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

function command(type: string, body: unknown) {
  return app.inject({
    method: 'POST',
    url: `/commands/${type}`,
    payload: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
}

async function countEvents(streamId?: string): Promise<number> {
  const result = streamId
    ? await sql.query('SELECT count(*)::int AS n FROM refract.events WHERE stream_id = $1', [
        streamId,
      ])
    : await sql.query('SELECT count(*)::int AS n FROM refract.events');
  return result.rows[0].n;
}

async function countStreams(): Promise<number> {
  return (await sql.query('SELECT count(*)::int AS n FROM refract.streams')).rows[0].n;
}

/** Runs `act` and asserts that the log holds exactly as many events and streams afterwards. */
async function expectNothingStored(act: () => Promise<unknown>): Promise<void> {
  const [events, streams] = [await countEvents(), await countStreams()];
  await act();
  expect(await countEvents()).toBe(events);
  expect(await countStreams()).toBe(streams);
}

describe('the contract', () => {
  it('serves a valid OpenAPI document of every route at /openapi.json', async () => {
    const document = (await app.inject('/openapi.json')).json();
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(Object.keys(document.paths).sort()).toEqual([
      '/commands/{commandType}',
      '/healthz',
      '/metrics',
      '/readyz',
      '/streams/{streamId}',
      '/streams/{streamId}/events',
    ]);
    const append = document.paths['/streams/{streamId}/events'].post;
    expect(Object.keys(append.responses).sort()).toEqual(['200', '201', '400', '409', '422']);
  });
});

describe('POST /streams/:streamId/events', () => {
  it('appends and answers 201 with the API fields only', async () => {
    const id = stream();
    const first = await append(id, { events: [event('A'), event('B')] });
    expect(first.statusCode).toBe(201);
    expect(first.headers['content-type']).toMatch(/^application\/json/);
    const body = first.json();
    expect(Object.keys(body).sort()).toEqual([
      'firstPosition',
      'firstVersion',
      'lastPosition',
      'lastVersion',
      'streamId',
    ]);
    expect(body).toMatchObject({ streamId: id, firstVersion: 0, lastVersion: 1 });
    expect(body.lastPosition - body.firstPosition).toBe(1);

    const second = await append(id, { expectedVersion: 1, events: [event('C')] });
    expect(second.statusCode).toBe(201);
    expect(second.json()).toMatchObject({ firstVersion: 2, lastVersion: 2 });
    expect(second.json().firstPosition).toBeGreaterThan(body.lastPosition);
    expect(await countEvents(id)).toBe(3);
  });

  it('accepts a stream id of 200 characters and every expectedVersion mode', async () => {
    const id = `a${'b'.repeat(199)}`;
    expect((await append(id, { expectedVersion: 'no_stream', events: [event()] })).statusCode).toBe(
      201,
    );
    expect(
      (await append(id, { expectedVersion: 'stream_exists', events: [event()] })).statusCode,
    ).toBe(201);
    expect((await append(id, { expectedVersion: 'any', events: [event()] })).statusCode).toBe(201);
  });

  it('answers 409 wrong_expected_version with expected and actual', async () => {
    const id = stream();
    await append(id, { events: [event()] });
    const response = await append(id, { expectedVersion: 5, events: [event()] });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({
      error: 'wrong_expected_version',
      expected: 5,
      actual: 0,
      streamId: id,
    });
    expect(typeof response.json().message).toBe('string');
    const noStream = await append(id, { expectedVersion: 'no_stream', events: [event()] });
    expect(noStream.json()).toMatchObject({ expected: 'no_stream', actual: 0 });
    expect(await countEvents(id)).toBe(1);
  });

  it('lets exactly one of 50 concurrent appends with the same expectedVersion win', async () => {
    const id = stream();
    expect((await append(id, { events: [event('First')] })).statusCode).toBe(201);
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, writer) =>
        append(id, { expectedVersion: 0, events: [event('Raced', { writer })] }),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const response of responses.filter((r) => r.statusCode === 409)) {
      expect(response.json()).toMatchObject({
        error: 'wrong_expected_version',
        expected: 0,
        actual: 1,
      });
    }
    const read = (await app.inject(`/streams/${id}`)).json();
    expect(read.version).toBe(1);
    expect(read.events.map((e: { version: number }) => e.version)).toEqual([0, 1]);
  });

  it('answers a retry with the first result (200) and stores nothing new', async () => {
    const id = stream();
    const body = {
      expectedVersion: 'no_stream',
      events: [
        { id: randomUUID(), type: 'A', data: { a: 1 } },
        { id: randomUUID(), type: 'B', data: { b: [1, 2] }, metadata: { by: 'me' } },
      ],
    };
    const first = await append(id, body);
    expect(first.statusCode).toBe(201);
    const retry = await append(id, body);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());
    // The same retry racing itself: every copy gets the first result.
    const racing = await Promise.all([append(id, body), append(id, body), append(id, body)]);
    for (const response of racing) {
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(first.json());
    }
    expect(await countEvents(id)).toBe(2);
  });

  it('answers 409 idempotency_conflict for stored ids with other content', async () => {
    const id = stream();
    const eventId = randomUUID();
    await append(id, { events: [{ id: eventId, type: 'A', data: { a: 1 } }] });
    await expectNothingStored(async () => {
      const response = await append(id, { events: [{ id: eventId, type: 'A', data: { a: 2 } }] });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({
        error: 'idempotency_conflict',
        eventId,
        streamId: id,
      });
    });
  });
});

describe('GET /streams/:streamId', () => {
  it('reads events with every API field, in pages', async () => {
    const id = stream();
    const eventId = randomUUID();
    await append(id, {
      events: [
        { id: eventId, type: 'A', data: { x: 'y' }, metadata: { traceId: 't' } },
        event('B'),
        event('C'),
      ],
    });
    const response = await app.inject(`/streams/${id}`);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.streamId).toBe(id);
    expect(body.version).toBe(2);
    expect(body.events).toHaveLength(3);
    const first = body.events[0];
    expect(Object.keys(first).sort()).toEqual([
      'createdAt',
      'data',
      'id',
      'metadata',
      'position',
      'type',
      'version',
    ]);
    expect(first).toMatchObject({
      id: eventId,
      type: 'A',
      data: { x: 'y' },
      metadata: { traceId: 't' },
      version: 0,
    });
    expect(new Date(first.createdAt).toISOString()).toBe(first.createdAt);

    const page = (await app.inject(`/streams/${id}?fromVersion=1&limit=1`)).json();
    expect(page.version).toBe(2);
    expect(page.events.map((e: { type: string }) => e.type)).toEqual(['B']);
    const past = (await app.inject(`/streams/${id}?fromVersion=3`)).json();
    expect(past.events).toEqual([]);
  });

  it('answers 404 stream_not_found for a stream that does not exist', async () => {
    const id = stream();
    const response = await app.inject(`/streams/${id}`);
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'stream_not_found', streamId: id });
  });

  it('returns the stream as it was at asOf', async () => {
    const id = stream();
    await append(id, { events: [event('Before')] });
    // The next append must be stamped clearly later: wait for the database's clock to move on.
    const stamped = (await app.inject(`/streams/${id}`)).json().events[0].createdAt;
    await eventually(async () => {
      const { rows } = await store.pool.query<{ later: boolean }>(
        "SELECT clock_timestamp() > $1::timestamptz + interval '20 milliseconds' AS later",
        [stamped],
      );
      expect(rows[0]!.later).toBe(true);
    });
    await append(id, { events: [event('After1'), event('After2')] });
    const all = (await app.inject(`/streams/${id}`)).json();
    const [before, after] = [all.events[0].createdAt, all.events[1].createdAt].map((t: string) =>
      Date.parse(t),
    );
    expect(after! - before!).toBeGreaterThan(10);
    const between = new Date((before! + after!) / 2).toISOString();
    const asOf = (await app.inject(`/streams/${id}?asOf=${encodeURIComponent(between)}`)).json();
    expect(asOf.version).toBe(0);
    expect(asOf.events.map((e: { type: string }) => e.type)).toEqual(['Before']);

    const offset = new Date(between).toISOString().replace('Z', '+00:00');
    expect(
      (await app.inject(`/streams/${id}?asOf=${encodeURIComponent(offset)}`)).json().version,
    ).toBe(0);
    const earlier = await app.inject(`/streams/${id}?asOf=2000-01-01`);
    expect(earlier.statusCode).toBe(404);
    expect(earlier.json().error).toBe('stream_not_found');
  });

  it.each([
    ['fromVersion=-1', 'fromVersion'],
    ['fromVersion=1.5', 'fromVersion'],
    ['fromVersion=abc', 'fromVersion'],
    ['fromVersion=', 'fromVersion'],
    ['fromVersion=1e400', 'fromVersion'],
    ['fromVersion=99999999999999999999', 'fromVersion'],
    ['fromVersion=1&fromVersion=2', 'fromVersion'],
    ['limit=0', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=+5', 'limit'],
    ['asOf=yesterday', 'asOf'],
    ['asOf=2024-01-01T00:00:00', 'asOf'],
    ['asOf=2024-13-45T00:00:00Z', 'asOf'],
    ['asOf=-271821-04-20T00:00:00Z', 'asOf'],
  ])('refuses ?%s naming %s', async (query, field) => {
    const id = stream();
    await append(id, { events: [event()] });
    const response = await app.inject(`/streams/${id}?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request', field });
  });

  it('refuses an invalid stream id', async () => {
    const response = await app.inject('/streams/bad%20id');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request', field: 'streamId' });
  });
});

describe('bad appends', () => {
  const cases: {
    name: string;
    streamId?: string;
    body: unknown;
    headers?: Record<string, string>;
    status?: number;
    error?: string;
    field: string;
  }[] = [
    { name: 'malformed JSON', body: '{"events": [', field: 'body' },
    { name: 'an empty body', body: '', field: 'body' },
    { name: 'a body that is an array', body: [event()], field: 'body' },
    { name: 'a body that is null', body: 'null', field: 'body' },
    { name: 'events that are not an array', body: { events: {} }, field: 'events' },
    { name: 'missing events', body: {}, field: 'events' },
    {
      name: 'data that is not an object',
      body: { events: [{ type: 'A', data: [1] }] },
      field: 'events.0.data',
    },
    { name: 'data that is missing', body: { events: [{ type: 'A' }] }, field: 'events.0.data' },
    {
      name: 'a type that is a number',
      body: { events: [{ type: 7, data: {} }] },
      field: 'events.0.type',
    },
    {
      name: 'metadata that is a string',
      body: { events: [{ type: 'A', data: {}, metadata: 'm' }] },
      field: 'events.0.metadata',
    },
    {
      name: 'an id that is not a UUID',
      body: { events: [{ id: 'x', type: 'A', data: {} }] },
      field: 'events.0.id',
    },
    { name: 'an event that is null', body: { events: [event(), null] }, field: 'events.1' },
    { name: 'empty events', body: { events: [] }, field: 'events' },
    {
      name: '1,001 events',
      body: { events: Array.from({ length: 1001 }, () => event()) },
      field: 'events',
    },
    {
      name: 'a body over the limit',
      body: { events: [event('Big', { blob: 'x'.repeat(1024 * 1024) })] },
      status: 413,
      error: 'payload_too_large',
      field: 'body',
    },
    {
      name: 'a stream id of 201 characters',
      streamId: `a${'b'.repeat(200)}`,
      body: { events: [event()] },
      field: 'streamId',
    },
    {
      name: 'a control character in the stream id',
      streamId: 'abc%01def',
      body: { events: [event()] },
      field: 'streamId',
    },
    {
      name: 'a NUL in the stream id',
      streamId: 'abc%00',
      body: { events: [event()] },
      field: 'streamId',
    },
    {
      name: 'a space in the stream id',
      streamId: 'a%20b',
      body: { events: [event()] },
      field: 'streamId',
    },
    {
      name: 'a negative expectedVersion',
      body: { expectedVersion: -1, events: [event()] },
      field: 'expectedVersion',
    },
    {
      name: 'a non-integer expectedVersion',
      body: { expectedVersion: 1.5, events: [event()] },
      field: 'expectedVersion',
    },
    {
      name: 'an expectedVersion as a string',
      body: { expectedVersion: '0', events: [event()] },
      field: 'expectedVersion',
    },
    {
      name: 'a NUL character in data',
      body: { events: [event('A', { note: 'a\u0000b' })] },
      field: 'events.0.data.note',
    },
    {
      name: 'an unpaired surrogate in data',
      body: '{"events":[{"type":"A","data":{"s":"\\ud800"}}]}',
      field: 'events.0.data.s',
    },
    {
      name: 'a NUL character in a key',
      body: { events: [event('A', { 'k\u0000': 1 })] },
      field: 'events.0.data',
    },
    {
      name: 'a number too large for a double',
      body: '{"events":[{"type":"A","data":{"n":1e999}}]}',
      field: 'events.0.data.n',
    },
    {
      name: 'data nested too deeply',
      body: `{"events":[{"type":"A","data":${'{"a":'.repeat(MAX_JSON_DEPTH)}1${'}'.repeat(MAX_JSON_DEPTH)}}]}`,
      field: `events.0.data${'.a'.repeat(MAX_JSON_DEPTH - 3)}`,
    },
    {
      name: 'the wrong content type',
      body: '{"events":[]}',
      headers: { 'content-type': 'text/plain' },
      status: 415,
      error: 'unsupported_media_type',
      field: 'content-type',
    },
  ];

  it.each(cases)('refuses $name, naming $field, and stores nothing', async (c) => {
    await expectNothingStored(async () => {
      const response = await append(c.streamId ?? stream(), c.body, c.headers);
      expect(response.statusCode).toBe(c.status ?? 400);
      const body = response.json();
      expect(body).toMatchObject({ error: c.error ?? 'invalid_request', field: c.field });
      expect(typeof body.message).toBe('string');
    });
  });

  it('refuses an unknown command type with 404, naming the field', async () => {
    await expectNothingStored(async () => {
      const response = await command('Teleport', { orderId: 'o-1' });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({
        error: 'unknown_command',
        field: 'commandType',
        commandType: 'Teleport',
      });
    });
  });

  it('never answers 500 to nasty input', async () => {
    const deep = 200_000;
    const nasty: InjectOptions[] = [
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: `${'['.repeat(deep)}${']'.repeat(deep)}`,
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: `{"events":[{"type":"A","data":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}]}`,
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '{"__proto__":{"polluted":true},"events":[]}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '{"constructor":{"prototype":{"x":1}},"events":[]}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '"just a string"',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '123',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: 'true',
        headers: { 'content-type': 'application/json' },
      },
      { method: 'POST', url: '/streams/a/events', payload: '{"events":[{"type":"A","data":{}}]}' },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '{"events":[{"type":"A","data":{}}]}',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '{"events":[{"type":"A","data":{}}]}',
        headers: { 'content-type': 'application/json', 'content-length': '5' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '{"expectedVersion":1e308,"events":[{"type":"A","data":{}}]}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: '{"expectedVersion":null,"events":[{"type":"A","data":{}}]}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: JSON.stringify({ events: [{ type: 'A'.repeat(101), data: {} }] }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: JSON.stringify({ events: [{ type: 'A', data: {}, schemaVersion: 0 }] }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: JSON.stringify({ events: [{ type: 'A', data: {}, schemaVersion: 2 ** 40 }] }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/a/events',
        payload: JSON.stringify({
          events: [
            { id: '00000000-0000-0000-0000-000000000001', type: 'A', data: {} },
            { id: '00000000-0000-0000-0000-000000000001', type: 'A', data: {} },
          ],
        }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/%ZZ/events',
        payload: '{"events":[]}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: `/streams/${'x'.repeat(5000)}/events`,
        payload: '{"events":[]}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams//events',
        payload: '{"events":[]}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/streams/%F0%9F%92%A9/events',
        payload: '{"events":[]}',
        headers: { 'content-type': 'application/json' },
      },
      { method: 'GET', url: '/streams/a?fromVersion[]=1' },
      { method: 'GET', url: '/streams/a?limit=%00' },
      { method: 'GET', url: '/streams/a?asOf=99999-01-01T00:00:00Z' },
      { method: 'GET', url: '/streams/a?asOf=0000-01-01T00:00:00Z' },
      { method: 'GET', url: '/streams/%C0%AF' },
      {
        method: 'PUT',
        url: '/streams/a/events',
        payload: '{}',
        headers: { 'content-type': 'application/json' },
      },
      { method: 'DELETE', url: '/streams/a' },
      {
        method: 'POST',
        url: '/commands/__proto__',
        payload: '{}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/commands/constructor',
        payload: '{}',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/commands/PlaceOrder',
        payload: 'null',
        headers: { 'content-type': 'application/json' },
      },
      { method: 'POST', url: '/commands/PlaceOrder' },
      {
        method: 'POST',
        url: '/commands/PlaceOrder',
        payload: '[]',
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/commands/PlaceOrder',
        payload: JSON.stringify({ orderId: 'a\u0000', customerId: 'c' }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/commands/PlaceOrder',
        payload: JSON.stringify({ orderId: 'x'.repeat(300), customerId: 'c' }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/commands/AddItem',
        payload: JSON.stringify({ orderId: 'o', sku: 's', qty: 1e308, unitPrice: '1e308' }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/commands/AddItem',
        payload: JSON.stringify({ orderId: 'o', sku: 's', qty: 1, unitPrice: -5 }),
        headers: { 'content-type': 'application/json' },
      },
      {
        method: 'POST',
        url: '/commands/CancelOrder',
        payload: JSON.stringify({ orderId: 'o', reason: '\ud800' }),
        headers: { 'content-type': 'application/json' },
      },
      { method: 'GET', url: '/streams/a?fromVersion=%ZZ' },
    ];
    await expectNothingStored(async () => {
      for (const request of nasty) {
        const response = await app.inject(request);
        const label = `${request.method} ${String(request.url).slice(0, 60)}`;
        expect(response.statusCode, label).toBeGreaterThanOrEqual(400);
        expect(response.statusCode, label).toBeLessThan(500);
        const body = response.json();
        expect(typeof body.error, label).toBe('string');
        expect(typeof body.message, label).toBe('string');
        if (response.statusCode === 400) expect(typeof body.field, label).toBe('string');
      }
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('POST /commands/:commandType', () => {
  const orderId = () => `o-${randomUUID()}`;

  it('runs a command and answers with the stream, version and position', async () => {
    const id = orderId();
    const placed = await command('PlaceOrder', { orderId: id, customerId: 'c-1' });
    expect(placed.statusCode).toBe(200);
    expect(placed.json()).toEqual({
      streamId: `order-${id}`,
      version: 0,
      position: expect.any(Number),
    });
    const added = await command('AddItem', { orderId: id, sku: 'sku-1', qty: 2, unitPrice: '9.5' });
    expect(added.json()).toMatchObject({ streamId: `order-${id}`, version: 1 });
    expect(added.json().position).toBeGreaterThan(placed.json().position);
    const read = (await app.inject(`/streams/order-${id}`)).json();
    expect(read.events.map((e: { type: string }) => e.type)).toEqual(['OrderPlaced', 'ItemAdded']);
    expect(read.events[1].data).toMatchObject({ qty: 2, unitPrice: '9.50' });
  });

  it('refuses each business rule with 422 and stores nothing', async () => {
    const id = orderId();
    const shipped = orderId();
    const cancelled = orderId();
    expect((await command('PlaceOrder', { orderId: id, customerId: 'c' })).statusCode).toBe(200);
    expect((await command('PlaceOrder', { orderId: shipped, customerId: 'c' })).statusCode).toBe(
      200,
    );
    expect(
      (await command('AddItem', { orderId: shipped, sku: 's', qty: 1, unitPrice: '1.00' }))
        .statusCode,
    ).toBe(200);
    expect((await command('ShipOrder', { orderId: shipped, trackingNumber: 't' })).statusCode).toBe(
      200,
    );
    expect((await command('PlaceOrder', { orderId: cancelled, customerId: 'c' })).statusCode).toBe(
      200,
    );
    expect((await command('CancelOrder', { orderId: cancelled, reason: 'r' })).statusCode).toBe(
      200,
    );

    const refused: [string, Record<string, unknown>][] = [
      ['PlaceOrder', { orderId: id, customerId: 'c' }],
      ['AddItem', { orderId: orderId(), sku: 's', qty: 1, unitPrice: '1.00' }],
      ['AddItem', { orderId: id, sku: 's', qty: 0, unitPrice: '1.00' }],
      ['AddItem', { orderId: id, sku: 's', qty: 101, unitPrice: '1.00' }],
      ['AddItem', { orderId: id, sku: 's', qty: 1, unitPrice: '0.00' }],
      ['AddItem', { orderId: shipped, sku: 's', qty: 1, unitPrice: '1.00' }],
      ['AddItem', { orderId: cancelled, sku: 's', qty: 1, unitPrice: '1.00' }],
      ['ShipOrder', { orderId: id, trackingNumber: 't' }],
      ['ShipOrder', { orderId: orderId(), trackingNumber: 't' }],
      ['ShipOrder', { orderId: shipped, trackingNumber: 't' }],
      ['ShipOrder', { orderId: cancelled, trackingNumber: 't' }],
      ['CancelOrder', { orderId: shipped, reason: 'r' }],
      ['CancelOrder', { orderId: cancelled, reason: 'r' }],
      ['CancelOrder', { orderId: orderId(), reason: 'r' }],
    ];
    for (const [type, body] of refused) {
      await expectNothingStored(async () => {
        const response = await command(type, body);
        expect(response.statusCode, `${type} ${JSON.stringify(body)}`).toBe(422);
        expect(response.json()).toMatchObject({ error: 'rule_violated' });
        expect(typeof response.json().message).toBe('string');
      });
    }
  });

  it('refuses PlaceOrder twice, even when both arrive at once', async () => {
    const id = orderId();
    const [a, b] = await Promise.all([
      command('PlaceOrder', { orderId: id, customerId: 'c' }),
      command('PlaceOrder', { orderId: id, customerId: 'c' }),
    ]);
    expect([a!.statusCode, b!.statusCode].sort()).toEqual([200, 422]);
    expect(await countEvents(`order-${id}`)).toBe(1);
  });

  it('lands two conflicting commands on one order thanks to the retry', async () => {
    const id = orderId();
    await command('PlaceOrder', { orderId: id, customerId: 'c' });
    const responses = await Promise.all([
      command('AddItem', { orderId: id, sku: 'a', qty: 1, unitPrice: '1.00' }),
      command('AddItem', { orderId: id, sku: 'b', qty: 2, unitPrice: '2.00' }),
    ]);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(responses.map((r) => r.json().version).sort()).toEqual([1, 2]);
    const read = (await app.inject(`/streams/order-${id}`)).json();
    expect(read.events.map((e: { version: number }) => e.version)).toEqual([0, 1, 2]);
  });

  it('refuses invalid command input with 400, naming the field, and stores nothing', async () => {
    const cases: [string, unknown, string][] = [
      ['PlaceOrder', { customerId: 'c' }, 'orderId'],
      ['PlaceOrder', { orderId: 'o', customerId: 7 }, 'customerId'],
      ['PlaceOrder', { orderId: 'has space', customerId: 'c' }, 'orderId'],
      ['PlaceOrder', { orderId: 'o', customerId: 'c', extra: 1 }, 'extra'],
      ['AddItem', { orderId: 'o', sku: 's', qty: 'two', unitPrice: '1' }, 'qty'],
      ['ShipOrder', { orderId: 'o' }, 'trackingNumber'],
      ['CancelOrder', [], 'body'],
    ];
    for (const [type, body, field] of cases) {
      await expectNothingStored(async () => {
        const response = await command(type, body);
        expect(response.statusCode, `${type} ${JSON.stringify(body)}`).toBe(400);
        expect(response.json()).toMatchObject({ error: 'invalid_request', field });
      });
    }
  });

  it('answers an unexpected failure with a generic 500 and logs it', async () => {
    const response = await command('Explode', {});
    expect(response.statusCode).toBe(500);
    const body = response.json();
    expect(body).toEqual({
      error: 'internal_error',
      message: 'an unexpected error occurred',
      requestId: response.headers['x-request-id'],
    });
    expect(response.body).not.toContain('secret');
    expect(response.body).not.toContain('.ts');
    const logged = logLines.find((line) => line.reqId === body.requestId && line.level === 50);
    expect(JSON.stringify(logged)).toContain('secret internal detail');
  });
});

describe('probes and metrics', () => {
  it('answers /healthz, /readyz and 404 for an unknown route', async () => {
    expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    const missing = await app.inject('/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' });
  });

  it('keeps a sane X-Request-Id and replaces any other', async () => {
    const kept = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await app.inject({ url: '/healthz', headers: { 'x-request-id': 'a b\tc' } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('exposes Prometheus metrics with bounded labels', async () => {
    await append(stream(), { events: [event()] });
    const response = await app.inject('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = response.body;
    expect(text).toMatch(/^refract_write_api_appends_total\{outcome="created"\} [1-9]/m);
    expect(text).toMatch(
      /^refract_write_api_appends_total\{outcome="wrong_expected_version"\} [1-9]/m,
    );
    expect(text).toMatch(/^refract_write_api_appends_total\{outcome="invalid_request"\} [1-9]/m);
    expect(text).toMatch(/^refract_write_api_append_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^refract_events_appended_total [1-9]/m);
    expect(text).toMatch(/^refract_group_commit_batch_appends_bucket\{le="1"\} [1-9]/m);
    expect(text).toMatch(/^refract_group_commit_duration_seconds_count [1-9]/m);
    expect(text).toMatch(
      /^refract_write_api_commands_total\{command="AddItem",outcome="rule_violated"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^refract_http_requests_total\{method="POST",route="\/streams\/:streamId\/events",status_code="201"\} [1-9]/m,
    );
    expect(text).toMatch(
      /^refract_http_requests_total\{method="GET",route="unmatched",status_code="404"\}/m,
    );
    expect(text).toContain('process_cpu_user_seconds_total');
    // No label value comes from the client: no stream ids, no raw URLs.
    expect(text).not.toMatch(/s-[0-9a-f]{8}-/);
    expect(text).not.toContain('Teleport');
  });
});

/**
 * A TCP proxy to the real Postgres, so a test can take "the database" away
 * without stopping the shared server.
 */
async function startProxy(target: URL) {
  const [host, port] = [target.hostname, Number(target.port || 5432)];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Refuses new connections and cuts the open ones, as a crashed database would. */
    async kill() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('when Postgres is unreachable', () => {
  it('answers /readyz, appends and reads with 503 dependency_unavailable', async () => {
    const proxy = await startProxy(new URL(db.url));
    const url = new URL(db.url);
    url.host = `127.0.0.1:${proxy.port}`;
    const downStore = await EventStore.open({ databaseUrl: url.toString() });
    const downApp = buildApp({
      store: downStore,
      logger: createLogger({ service: 'write-api', level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      app: testApp,
      readyTimeoutMs: 500,
    });
    try {
      expect((await downApp.inject('/readyz')).statusCode).toBe(200);
      const id = stream();
      expect(
        (
          await downApp.inject({
            method: 'POST',
            url: `/streams/${id}/events`,
            payload: { events: [event()] },
          })
        ).statusCode,
      ).toBe(201);

      await proxy.kill();
      const ready = await downApp.inject('/readyz');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({
        error: 'dependency_unavailable',
        dependency: 'postgres',
      });
      const appended = await downApp.inject({
        method: 'POST',
        url: `/streams/${id}/events`,
        payload: { events: [event()] },
      });
      expect(appended.statusCode).toBe(503);
      expect(appended.json()).toMatchObject({ error: 'dependency_unavailable' });
      const read = await downApp.inject(`/streams/${id}`);
      expect(read.statusCode).toBe(503);
      const placed = await downApp.inject({
        method: 'POST',
        url: '/commands/PlaceOrder',
        payload: { orderId: 'o-down', customerId: 'c' },
      });
      expect(placed.statusCode).toBe(503);
      expect(await downApp.inject('/healthz').then((r) => r.statusCode)).toBe(200);
    } finally {
      await downApp.close();
      await downStore.close();
    }
  });
});

describe('while closing', () => {
  /** A raw connection, so a test can leave a request half sent. */
  async function connect(port: number) {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    const ended = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
    return { socket, ended, received: () => received };
  }

  /** Whether a new connection to `port` is accepted: false once the server stopped listening. */
  function accepts(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  }

  it('finishes the requests in flight, refuses new ones 503, and closes every connection', async () => {
    const closingApp = buildApp({
      store,
      logger: createLogger({ service: 'write-api', level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      app: testApp,
    });
    await closingApp.listen({ port: 0, host: '127.0.0.1' });
    const { port } = closingApp.server.address() as net.AddressInfo;
    const id = stream();
    const body = JSON.stringify({ events: [event()] });

    // An append with half its body sent, and a request with half its headers
    // sent: both in flight when close() starts.
    const appending = await connect(port);
    // Node answers 100 Continue once it has parsed the headers: the request is in the server.
    appending.socket.write(
      `POST /streams/${id}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await eventually(() =>
      expect(appending.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/),
    );
    appending.socket.write(body.slice(0, 10));
    const late = await connect(port);
    late.socket.write('GET /readyz HTTP/1.1\r\nHost: x\r\n');
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        closingApp.server.getConnections((error, count) =>
          error ? reject(error) : resolve(count),
        ),
      );
    await eventually(async () => expect(await connections()).toBe(2));

    const closed = closingApp.close();
    // Closing has begun once the server no longer accepts connections.
    await eventually(async () => expect(await accepts(port)).toBe(false));
    late.socket.write('\r\n');
    appending.socket.write(body.slice(10));

    const refused = await late.ended;
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toMatch(/^connection: close$/im);
    expect(refused).toContain('"error":"shutting_down"');
    const appended = (await appending.ended).replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    expect(appended).toMatch(/^HTTP\/1\.1 201 /);
    // Told to close, so a kept-alive connection cannot hold the shutdown up.
    expect(appended).toMatch(/^connection: close$/im);
    await closed;
    expect(await countEvents(id)).toBe(1);
  });
});

describe('authentication', () => {
  const READ = 'write-api-read-token-0123';
  const WRITE = 'write-api-write-token-0123';
  let secured: FastifyInstance;

  beforeAll(async () => {
    secured = buildApp({
      store,
      logger: createLogger({ service: 'write-api', level: 'silent' }),
      metrics: createMetrics({ defaultMetrics: false }),
      app: testApp,
      tokens: [
        { name: 'dashboard', scopes: ['read'], token: READ },
        { name: 'WRITE_API_TOKEN', scopes: ['read', 'write'], token: WRITE },
      ],
    });
    await secured.ready();
  });
  afterAll(async () => {
    await secured?.close();
  });

  const post = (streamId: string, token?: string) =>
    secured.inject({
      method: 'POST',
      url: `/streams/${streamId}/events`,
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      payload: JSON.stringify({ events: [event()] }),
    });

  it('refuses an append without a token (401) or with a read-only one (403), storing nothing', async () => {
    const id = stream();
    const none = await post(id);
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="refract write-api"');
    expect(none.json()).toMatchObject({ error: 'unauthorized' });
    const unknown = await post(id, `${WRITE}x`);
    expect(unknown.statusCode).toBe(401);
    const readOnly = await post(id, READ);
    expect(readOnly.statusCode).toBe(403);
    expect(readOnly.json()).toMatchObject({ error: 'forbidden' });
    const command = await secured.inject({
      method: 'POST',
      url: '/commands/Explode',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${READ}` },
      payload: '{}',
    });
    expect(command.statusCode).toBe(403);
    expect(await countEvents(id)).toBe(0);
  });

  it('lets a write token append and a read token read; probes and the contract stay open', async () => {
    const id = stream();
    expect((await post(id, WRITE)).statusCode).toBe(201);
    const read = await secured.inject({
      method: 'GET',
      url: `/streams/${id}`,
      headers: { authorization: `Bearer ${READ}` },
    });
    expect(read.statusCode).toBe(200);
    expect(read.json().events).toHaveLength(1);
    for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect((await secured.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });
});
