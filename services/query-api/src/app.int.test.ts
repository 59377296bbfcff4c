import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { compileErrors, validate } from '@readme/openapi-parser';
import {
  DependencyUnavailableError,
  defineApp,
  defineProjection,
  InvalidInputError,
} from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { createLogger, createMetrics, type Metrics } from '@refract/observability';
import { registerProjection } from '@refract/projector';
import {
  CHECKPOINTS_CHANNEL,
  type CheckpointWatcher,
  createCheckpointWatcher,
  defineQueryApi,
} from '@refract/read-your-writes';
import type { ApiToken } from '@refract/service-kit';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { queryApiMetrics, watcherMetrics } from './metrics.js';
import { startQueryApi } from './server.js';

const PARTITIONS = 4;

/** A projection that only has to exist: the tests move its checkpoints as its worker would. */
const notes = defineProjection({
  name: 'notes',
  version: 1,
  pool: 'test',
  tables: ['notes'],
  setup: (table) => `CREATE TABLE IF NOT EXISTS ${table('notes')} (id text PRIMARY KEY)`,
  handles: ['Noted'],
  applyBatch: async () => {},
});

/** An application's query API, as a user writes one. */
const notesApi = defineQueryApi('notes', async (server, { db, readYourWrites }) => {
  server.get<{ Params: { id: string } }>(
    '/notes/:id',
    {
      config: {
        readYourWrites: {
          projection: 'notes',
          streamId: (request) => `note-${(request.params as { id: string }).id}`,
        },
      },
    },
    async (request) => {
      const result = await db.query<{ one: number }>('SELECT 1 AS one');
      return { id: request.params.id, one: result.rows[0]?.one };
    },
  );
  // A handler that waits by itself: its errors reach the service's error handler.
  server.get<{ Params: { id: string }; Querystring: { position: string } }>(
    '/direct/:id',
    async (request) => {
      await readYourWrites.waitForPosition('notes', {
        streamId: `note-${request.params.id}`,
        position: Number(request.query.position),
        timeoutMs: 100,
      });
      return { ok: true };
    },
  );
  server.get('/invalid', async () => {
    throw new InvalidInputError('thing', 'is wrong');
  });
  server.get('/missing', async () => {
    throw new DependencyUnavailableError('projection notes');
  });
  server.post('/notes/search', async (request) => ({ received: request.body }));
});

/** A second query API of a composed application. */
const otherApi = defineQueryApi('other', async (server) => {
  server.get('/other', async () => ({ other: true }));
});

let db: TestDatabase;
let store: EventStore;
let pool: pg.Pool;

interface Served {
  app: FastifyInstance;
  watcher: CheckpointWatcher;
  metrics: Metrics;
  close(): Promise<void>;
}

/** The app as startQueryApi builds it, with a watcher of its own. */
async function serve(
  options: { maxTimeoutMs?: number; bodyLimitBytes?: number; tokens?: ApiToken[] } = {},
) {
  const metrics = createMetrics({ defaultMetrics: false });
  const watcher = await createCheckpointWatcher({
    pool,
    recheckMs: 3_600_000,
    ...watcherMetrics(queryApiMetrics(metrics)),
  });
  const app = buildApp({
    pool,
    watcher,
    queryApis: [notesApi, otherApi],
    logger: createLogger({ service: 'query-api', level: 'silent' }),
    metrics,
    ...options,
  });
  await app.ready();
  return {
    app,
    watcher,
    metrics,
    close: async () => {
      await app.close();
      await watcher.close();
    },
  } satisfies Served;
}

let main: Served;

beforeAll(async () => {
  db = await createTestDatabase('query_api');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  pool = createPool({ connectionString: db.url, max: 10 });
  await registerProjection(pool, notes, PARTITIONS);
  main = await serve();
});

afterAll(async () => {
  await main?.close();
  await store?.close();
  await pool?.end();
  await db?.drop();
});

/** The worker, simulated: every partition's checkpoint to its last event, notified on commit. */
async function work(): Promise<void> {
  await pool.query(
    `WITH moved AS (
       UPDATE refract.projection_checkpoints c
       SET position = (SELECT coalesce(max(position), 0) FROM refract.events e
                       WHERE e.partition = c.partition)
       WHERE projection = 'notes' AND version = 1
       RETURNING partition, position)
     SELECT pg_notify($1, 'notes:1:' || partition || ':' || position) FROM moved`,
    [CHECKPOINTS_CHANNEL],
  );
}

async function addNote(): Promise<{ id: string; position: number }> {
  const id = randomUUID().slice(0, 8);
  const appended = await store.append(`note-${id}`, [{ type: 'Noted', data: { id } }]);
  return { id, position: appended.lastPosition };
}

function get(url: string, served: Served = main) {
  return served.app.inject({ method: 'GET', url });
}

async function metricValue(served: Served, line: RegExp): Promise<number> {
  const text = await served.metrics.render();
  const match = text.split('\n').find((l) => line.test(l));
  return match ? Number(match.split(' ').at(-1)) : 0;
}

describe('the contract', () => {
  it('serves a valid OpenAPI document at /openapi.json: the probes and the query APIs with the wait parameters', async () => {
    const document = (await get('/openapi.json')).json();
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(document.paths).toHaveProperty(['/healthz', 'get']);
    const marked = Object.values(
      document.paths as Record<string, Record<string, { parameters?: { name: string }[] }>>,
    )
      .flatMap((methods) => Object.values(methods))
      .filter((operation) => operation.parameters?.some((p) => p.name === 'minPosition'));
    expect(marked.length).toBeGreaterThan(0);
    for (const operation of marked) {
      expect(operation.parameters?.map((p) => p.name)).toEqual(
        expect.arrayContaining([
          'minPosition',
          'timeoutMs',
          'refract-min-position',
          'refract-timeout-ms',
        ]),
      );
    }
  });
});

describe('the application’s query APIs', () => {
  it('serves every query API, each given the pool as db', async () => {
    const note = await get('/notes/n1');
    expect(note.statusCode).toBe(200);
    expect(note.json()).toEqual({ id: 'n1', one: 1 });
    expect((await get('/other')).json()).toEqual({ other: true });
  });

  it('honours ?minPosition= on the routes they mark, counted in the metrics', async () => {
    const { id, position } = await addNote();
    const before = await metricValue(
      main,
      /^refract_query_api_waits_total\{.*outcome="notification"/,
    );
    const pending = get(`/notes/${id}?minPosition=${position}&timeoutMs=10000`);
    await eventually(() => expect(main.watcher.pendingWaits).toBe(1));
    await work();
    expect((await pending).statusCode).toBe(200);
    expect(
      await metricValue(main, /^refract_query_api_waits_total\{.*outcome="notification"/),
    ).toBe(before + 1);
    expect(
      await metricValue(main, /^refract_query_api_wait_duration_seconds_count\{projection="notes"/),
    ).toBeGreaterThanOrEqual(1);
  });

  it('answers 504 not_caught_up at the timeout, counted as a timeout', async () => {
    const { id, position } = await addNote();
    const response = await get(`/notes/${id}?minPosition=${position}&timeoutMs=100`);
    expect(response.statusCode).toBe(504);
    expect(response.json()).toMatchObject({ error: 'not_caught_up', minPosition: position });
    expect(
      await metricValue(main, /^refract_query_api_waits_total\{.*outcome="timeout"/),
    ).toBeGreaterThanOrEqual(1);
    await work();
  });

  it('answers the errors of a handler that waits by itself in the same shape', async () => {
    const { id, position } = await addNote();
    const response = await get(`/direct/${id}?position=${position}`);
    expect(response.statusCode).toBe(504);
    expect(response.json()).toEqual({
      error: 'not_caught_up',
      message: `notes has not applied every event of note-${id} up to position ${position} within 100 ms`,
      projection: 'notes',
      minPosition: position,
      timeoutMs: 100,
      pending: [expect.objectContaining({ target: position })],
    });
    await work();
    expect((await get(`/direct/${id}?position=${position}`)).json()).toEqual({ ok: true });
  });

  it('answers core’s errors thrown by a handler with their code', async () => {
    const invalid = await get('/invalid');
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toEqual({
      error: 'invalid_request',
      message: 'thing is wrong',
      field: 'thing',
    });
    const missing = await get('/missing');
    expect(missing.statusCode).toBe(503);
    expect(missing.json()).toMatchObject({
      error: 'dependency_unavailable',
      dependency: 'projection notes',
    });
  });

  it('caps timeoutMs at the configured maximum', async () => {
    const capped = await serve({ maxTimeoutMs: 500 });
    try {
      const response = await get('/notes/n1?timeoutMs=501', capped);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'invalid_request', field: 'timeoutMs' });
      expect((await get('/notes/n1?timeoutMs=10000')).statusCode).toBe(200);
    } finally {
      await capped.close();
    }
  });

  it('reads bodies up to the configured limit, and answers 413 beyond', async () => {
    const small = await serve({ bodyLimitBytes: 64 });
    try {
      const post = (payload: unknown) =>
        small.app.inject({ method: 'POST', url: '/notes/search', payload: payload as object });
      expect((await post({ q: 'a' })).json()).toEqual({ received: { q: 'a' } });
      const large = await post({ q: 'x'.repeat(100) });
      expect(large.statusCode).toBe(413);
      expect(large.json()).toEqual({
        error: 'payload_too_large',
        message: 'body must be at most 64 bytes',
        field: 'body',
        limitBytes: 64,
      });
    } finally {
      await small.close();
    }
  });
});

describe('the error shape', () => {
  it('answers a malformed url 400 naming url', async () => {
    const response = await get('/notes/%E0%A4%A');
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request', field: 'url' });
  });

  it('answers unknown paths and methods with 404 not_found', async () => {
    expect((await get('/notes')).json()).toMatchObject({ error: 'not_found' });
    const post = await main.app.inject({ method: 'POST', url: '/notes/1', payload: {} });
    expect(post.statusCode).toBe(404);
    expect(post.json()).toMatchObject({ error: 'not_found' });
  });
});

describe('closing', () => {
  it('answers waiting requests 503 shutting_down at once', async () => {
    const served = await serve();
    const { id, position } = await addNote();
    const pending = get(`/notes/${id}?minPosition=${position}&timeoutMs=10000`, served);
    await eventually(() => expect(served.watcher.pendingWaits).toBe(1));
    const started = Date.now();
    const closed = served.close();
    const response = await pending;
    await closed;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ error: 'shutting_down' });
    await work();
  });
});

describe('probes and metrics', () => {
  it('answers /healthz, /readyz and /metrics', async () => {
    await get('/notes/n2');
    await get('/nowhere');
    expect((await get('/healthz')).json()).toEqual({ status: 'ok' });
    expect((await get('/readyz')).json()).toEqual({ status: 'ready', listening: true });
    const metrics = await get('/metrics');
    expect(metrics.statusCode).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(
      /refract_http_requests_total\{method="GET",route="\/notes\/:id",status_code="200"\} \d+/,
    );
    expect(metrics.body).toMatch(/refract_http_requests_total\{[^}]*route="unmatched"/);
    expect(metrics.body).toContain('refract_query_api_wait_duration_seconds_bucket');
    expect(metrics.body).toMatch(/^refract_query_api_listening 1$/m);
    expect(metrics.body).toMatch(/^refract_query_api_pending_waits 0$/m);
  });
});

describe('startQueryApi', () => {
  /** A logger whose JSON lines the test reads. */
  function capturingLogger() {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    });
    return { lines, logger: createLogger({ service: 'query-api', destination }) };
  }

  const config = () =>
    loadConfig({ DATABASE_URL: db.url, QUERY_API_PORT: '0', QUERY_API_HOST: '127.0.0.1' });

  it('serves the application’s query APIs', async () => {
    const { logger, lines } = capturingLogger();
    const app = defineApp({ name: 'noted', queryApi: notesApi });
    const server = await startQueryApi(config(), logger, app, createMetrics());
    try {
      expect(server.queryApis).toEqual(['notes']);
      expect(server.partitions).toBe(PARTITIONS);
      const response = await fetch(`http://127.0.0.1:${server.port}/notes/n3`);
      expect(await response.json()).toEqual({ id: 'n3', one: 1 });
      expect(lines.filter((l) => String(l.msg).includes('no query API'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('starts an application without a query API, and says so', async () => {
    const { logger, lines } = capturingLogger();
    const server = await startQueryApi(config(), logger, defineApp({ name: 'bare' }));
    try {
      expect(server.queryApis).toEqual([]);
      expect(lines).toContainEqual(
        expect.objectContaining({
          level: 40,
          app: 'bare',
          msg: 'the application declares no query API: serving only /healthz, /readyz and /metrics',
        }),
      );
      const base = `http://127.0.0.1:${server.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/notes/n1`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('authentication', () => {
  const READ = 'query-read-token-0123456789';
  const WRITE_ONLY = 'query-write-only-token-0123';

  it('needs a token with the read scope on every query route, probes stay open', async () => {
    const served = await serve({
      tokens: [
        { name: 'QUERY_API_TOKEN', scopes: ['read'], token: READ },
        { name: 'ingest', scopes: ['write'], token: WRITE_ONLY },
      ],
    });
    try {
      const none = await served.app.inject({ method: 'GET', url: '/other' });
      expect(none.statusCode).toBe(401);
      expect(none.headers['www-authenticate']).toBe('Bearer realm="refract query-api"');
      const wrong = await served.app.inject({
        method: 'GET',
        url: '/other',
        headers: { authorization: `Bearer ${READ}0` },
      });
      expect(wrong.statusCode).toBe(401);
      const writeOnly = await served.app.inject({
        method: 'POST',
        url: '/notes/search',
        headers: { authorization: `Bearer ${WRITE_ONLY}` },
        payload: {},
      });
      expect(writeOnly.statusCode).toBe(403);
      expect(writeOnly.json()).toMatchObject({ error: 'forbidden' });
      const read = await served.app.inject({
        method: 'GET',
        url: '/other',
        headers: { authorization: `Bearer ${READ}` },
      });
      expect(read.statusCode).toBe(200);
      expect(read.json()).toEqual({ other: true });
      for (const url of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
        expect((await served.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
      }
    } finally {
      await served.close();
    }
  });
});
