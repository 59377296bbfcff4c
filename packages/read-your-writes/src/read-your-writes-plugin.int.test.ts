import { randomUUID } from 'node:crypto';
import { InvalidInputError } from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { registerProjection } from '@refract/projector';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CheckpointWatcher, createCheckpointWatcher } from './checkpoint-watcher.js';
import { moveCheckpoints, testProjection } from './fixtures/test-projection.js';
import {
  type ReadYourWritesPluginOptions,
  readYourWritesPlugin,
} from './read-your-writes-plugin.js';

const PARTITIONS = 4;
const PROJECTION = 'items';

const items = testProjection(PROJECTION);

let db: TestDatabase;
let store: EventStore;
let pool: pg.Pool;
let watcher: CheckpointWatcher;
let server: FastifyInstance;

/** How many times each handler ran. */
const handled = { item: 0, plain: 0 };

/** A user's server: the plugin first, then routes, marked or not. */
async function serve(
  options: Partial<ReadYourWritesPluginOptions> = {},
  readYourWrites: CheckpointWatcher = watcher,
): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(readYourWritesPlugin, { readYourWrites, ...options });
  await app.register(async (scope) => {
    scope.get<{ Params: { id: string } }>(
      '/items/:id',
      {
        config: {
          readYourWrites: {
            projection: PROJECTION,
            streamId: (request) => {
              const { id } = request.params as { id: string };
              if (id === 'bad') throw new InvalidInputError('id', 'is not an item id');
              return `item-${id}`;
            },
          },
        },
      },
      async (request) => {
        handled.item += 1;
        // What the handler sees: the checkpoint of the item's partition.
        const checkpoint = await pool.query<{ position: number }>(
          `SELECT position FROM refract.projection_checkpoints
           WHERE projection = $1 AND version = 1 AND partition = $2`,
          [PROJECTION, store.partitionOf(`item-${request.params.id}`)],
        );
        return { id: request.params.id, checkpoint: checkpoint.rows[0]!.position };
      },
    );
    scope.get('/everything', { config: { readYourWrites: { projection: PROJECTION } } }, () => ({
      ok: true,
    }));
    scope.get(
      '/guarded',
      {
        config: { readYourWrites: { projection: PROJECTION } },
        preHandler: async (_request, reply) => reply.code(401).send({ error: 'unauthorized' }),
      },
      () => ({ ok: true }),
    );
    scope.get('/unregistered', { config: { readYourWrites: { projection: 'nope' } } }, () => ({
      ok: true,
    }));
    scope.get('/plain', () => {
      handled.plain += 1;
      return { ok: true };
    });
  });
  await app.ready();
  return app;
}

beforeAll(async () => {
  db = await createTestDatabase('ryw_plugin');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  pool = createPool({ connectionString: db.url, max: 4 });
  await registerProjection(pool, items, PARTITIONS);
  watcher = await createCheckpointWatcher({ pool, recheckMs: 3_600_000 });
  server = await serve();
});

afterAll(async () => {
  await server?.close();
  await watcher?.close();
  await store?.close();
  await pool?.end();
  await db?.drop();
});

/** The worker, simulated. */
const work = () => moveCheckpoints(pool, PROJECTION, { partitions: [...Array(PARTITIONS).keys()] });

async function addItem(): Promise<{ id: string; position: number }> {
  const id = randomUUID().slice(0, 8);
  const appended = await store.append(`item-${id}`, [{ type: 'Noted', data: { id } }]);
  return { id, position: appended.lastPosition };
}

const get = (url: string, headers: Record<string, string> = {}, app = server) =>
  app.inject({ method: 'GET', url, headers });

describe('a marked route', () => {
  it('waits before its handler until the projection has applied minPosition', async () => {
    const { id, position } = await addItem();
    const before = handled.item;
    const answer = get(`/items/${id}?minPosition=${position}&timeoutMs=10000`);
    await eventually(() => expect(watcher.pendingWaits).toBe(1));
    expect(handled.item).toBe(before);
    await work();
    const response = await answer;
    expect(response.statusCode).toBe(200);
    // The handler ran after the checkpoint got there.
    expect(response.json()).toEqual({ id, checkpoint: position });
  });

  it('takes minPosition and timeoutMs from headers too', async () => {
    const { id, position } = await addItem();
    const late = await get(`/items/${id}`, {
      'Refract-Min-Position': String(position),
      'Refract-Timeout-Ms': '50',
    });
    expect(late.statusCode).toBe(504);
    expect(late.json()).toMatchObject({ minPosition: position, timeoutMs: 50 });
    await work();
    const now = await get(`/items/${id}`, { 'refract-min-position': String(position) });
    expect(now.statusCode).toBe(200);
  });

  it('answers 504 not_caught_up at the timeout, with what is pending', async () => {
    const { id, position } = await addItem();
    const response = await get(`/items/${id}?minPosition=${position}&timeoutMs=200`);
    expect(response.statusCode).toBe(504);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      error: 'not_caught_up',
      message: `${PROJECTION} has not applied every event of item-${id} up to position ${position} within 200 ms`,
      projection: PROJECTION,
      minPosition: position,
      timeoutMs: 200,
      pending: [
        {
          partition: store.partitionOf(`item-${id}`),
          target: position,
          checkpoint: expect.any(Number),
        },
      ],
    });
    await work();
  });

  it('without streamId waits for every partition', async () => {
    const { position } = await addItem();
    const response = await get(`/everything?minPosition=${position}&timeoutMs=0`);
    expect(response.statusCode).toBe(504);
    expect(response.json().message).toContain('has not applied every event up to position');
    await work();
    expect((await get(`/everything?minPosition=${position}&timeoutMs=0`)).statusCode).toBe(200);
  });

  it('waits the default timeout without timeoutMs, and nothing without minPosition', async () => {
    const quick = await serve({ defaultTimeoutMs: 100 });
    try {
      const { id, position } = await addItem();
      const response = await get(`/items/${id}?minPosition=${position}`, {}, quick);
      expect(response.statusCode).toBe(504);
      expect(response.json()).toMatchObject({ timeoutMs: 100 });
      expect((await get(`/items/${id}`, {}, quick)).statusCode).toBe(200);
      expect((await get(`/items/${id}?minPosition=0`, {}, quick)).statusCode).toBe(200);
      await work();
    } finally {
      await quick.close();
    }
  });

  it.each([
    ['/items/1?minPosition=-1', 'minPosition', 'minPosition must be a non-negative integer'],
    ['/items/1?minPosition=abc', 'minPosition', undefined],
    ['/items/1?minPosition=1.5', 'minPosition', undefined],
    ['/items/1?minPosition=1e3', 'minPosition', undefined],
    ['/items/1?minPosition=', 'minPosition', undefined],
    ['/items/1?minPosition=99999999999999999999', 'minPosition', undefined],
    ['/items/1?minPosition=1&minPosition=2', 'minPosition', 'minPosition must be given once'],
    ['/items/1?timeoutMs=10001', 'timeoutMs', 'timeoutMs must be an integer from 0 to 10000'],
    ['/items/1?timeoutMs=-5', 'timeoutMs', undefined],
    ['/items/1?timeoutMs=soon', 'timeoutMs', undefined],
    ['/everything?minPosition=x', 'minPosition', undefined],
    ['/everything?timeoutMs=1000000', 'timeoutMs', undefined],
    ['/items/bad?minPosition=1', 'id', 'id is not an item id'],
  ])('%s → 400 naming %s', async (url, field, message) => {
    const response = await get(url);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: 'invalid_request',
      message: message ?? expect.any(String),
      field,
    });
  });

  it('names the header when a header value is bad', async () => {
    const response = await get('/items/1', { 'Refract-Min-Position': 'soon' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ field: 'Refract-Min-Position' });
    const timeout = await get('/items/1', { 'Refract-Timeout-Ms': '-1' });
    expect(timeout.json()).toMatchObject({ field: 'Refract-Timeout-Ms' });
  });

  it('caps timeoutMs at maxTimeoutMs', async () => {
    const capped = await serve({ maxTimeoutMs: 1000 });
    try {
      const response = await get('/items/1?timeoutMs=1001', {}, capped);
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        field: 'timeoutMs',
        message: 'timeoutMs must be an integer from 0 to 1000',
      });
      expect((await get('/items/1?timeoutMs=1000', {}, capped)).statusCode).toBe(200);
    } finally {
      await capped.close();
    }
  });

  it('runs the route’s own preHandlers first', async () => {
    const response = await get('/guarded?minPosition=999999999&timeoutMs=10000');
    expect(response.statusCode).toBe(401);
    expect(watcher.pendingWaits).toBe(0);
  });

  it('answers 503 dependency_unavailable for a projection not registered', async () => {
    const { position } = await addItem();
    const response = await get(`/unregistered?minPosition=${position}&timeoutMs=100`);
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({
      error: 'dependency_unavailable',
      dependency: 'projection nope',
    });
    await work();
  });

  it('answers a waiting request 503 shutting_down when the watcher closes', async () => {
    const own = await createCheckpointWatcher({ pool, recheckMs: 3_600_000 });
    const app = await serve({}, own);
    try {
      const { id, position } = await addItem();
      const answer = get(`/items/${id}?minPosition=${position}&timeoutMs=10000`, {}, app);
      await eventually(() => expect(own.pendingWaits).toBe(1));
      own.endWaits();
      const response = await answer;
      expect(response.statusCode).toBe(503);
      expect(response.json()).toEqual({
        error: 'shutting_down',
        message: 'the server is shutting down; retry on another instance',
      });
    } finally {
      await app.close();
      await own.close();
      await work();
    }
  });
});

describe('an unmarked route', () => {
  it('ignores minPosition', async () => {
    const before = handled.plain;
    const response = await get('/plain?minPosition=999999999&timeoutMs=soon');
    expect(response.statusCode).toBe(200);
    expect(handled.plain).toBe(before + 1);
  });
});

describe('registration', () => {
  it('refuses a route whose config.readYourWrites is malformed, naming the route', async () => {
    const app = Fastify();
    await app.register(readYourWritesPlugin, { readYourWrites: watcher });
    app.register(async (scope) => {
      scope.get('/broken', { config: { readYourWrites: { projection: '' } } }, () => ({}));
    });
    await expect(app.ready()).rejects.toThrow(/route GET \/broken: config.readYourWrites/);
    await app.close();
  });

  it('refuses a default timeout above the cap', async () => {
    const app = Fastify();
    app.register(readYourWritesPlugin, {
      readYourWrites: watcher,
      maxTimeoutMs: 100,
      defaultTimeoutMs: 200,
    });
    await expect(app.ready()).rejects.toThrow(/defaultTimeoutMs must not exceed maxTimeoutMs/);
    await app.close();
  });
});
