import { createPool, EventStore, migrate } from '@refract/event-store';
import { orderProjections, ordersApp } from '@refract/example-orders';
import { createLogger, createMetrics } from '@refract/observability';
import { registerProjection } from '@refract/projector';
import { buildApp as buildQueryApi } from '@refract/query-api';
import { type CheckpointWatcher, createCheckpointWatcher } from '@refract/read-your-writes';
import { listen } from '@refract/service-kit';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { buildApp as buildWriteApi } from '@refract/write-api';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RefractClient } from './client.js';
import { RefractHttpError } from './errors.js';

const PARTITIONS = 4;
let db: TestDatabase;
let store: EventStore;
let pool: pg.Pool;
let watcher: CheckpointWatcher;
let writeApi: FastifyInstance;
let queryApi: FastifyInstance;
let client: RefractClient;
let writeUrl: string;

const logger = createLogger({ service: 'client-test', level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase('client');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url, upcasters: ordersApp.upcasters });
  writeApi = buildWriteApi({ store, logger, metrics: createMetrics(), app: ordersApp });
  writeUrl = `http://127.0.0.1:${await listen(writeApi, { port: 0, host: '127.0.0.1' })}`;
  pool = createPool({ connectionString: db.url, max: 4 });
  for (const projection of orderProjections) await registerProjection(pool, projection, PARTITIONS);
  watcher = await createCheckpointWatcher({ pool });
  queryApi = buildQueryApi({
    pool,
    watcher,
    queryApis: ordersApp.queryApis,
    logger,
    metrics: createMetrics(),
  });
  const queryPort = await listen(queryApi, { port: 0, host: '127.0.0.1' });
  client = new RefractClient({ writeUrl, queryUrl: `http://127.0.0.1:${queryPort}` });
});

afterAll(async () => {
  await writeApi?.close();
  await queryApi?.close();
  await watcher?.close();
  await pool?.end();
  await store?.close();
  await db?.drop();
});

const streamId = () => `client-${crypto.randomUUID()}`;
const placed = (orderId: string) => ({
  type: 'OrderPlaced',
  data: { orderId, customerId: 'c-1', placedAt: '2026-01-01T00:00:00.000Z' },
});

/** A fetch that does the request, then loses the first answer(s): the server acted, the client never heard. */
function losingFirstAnswers(lost: number): { fetch: typeof fetch; calls: RequestInit[] } {
  const calls: RequestInit[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      calls.push(init ?? {});
      const response = await fetch(input, init);
      if (calls.length <= lost) {
        await response.text();
        throw new TypeError('fetch failed');
      }
      return response;
    },
  };
}

/** The rejection of `promise`, which must reject with a RefractHttpError. */
async function refusal(promise: Promise<unknown>): Promise<RefractHttpError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RefractHttpError);
  return error as RefractHttpError;
}

describe('RefractClient', () => {
  it('appends with expected versions; a conflict is a typed error with the server code', async () => {
    const id = streamId();
    const first = await client.append(id, [placed('o-1')], { expectedVersion: 'no_stream' });
    expect(first).toMatchObject({
      streamId: id,
      firstVersion: 0,
      lastVersion: 0,
      duplicate: false,
    });
    expect(first.eventIds).toHaveLength(1);
    const conflict = await refusal(
      client.append(id, [placed('o-1')], { expectedVersion: 'no_stream' }),
    );
    expect(conflict).toMatchObject({ status: 409, code: 'wrong_expected_version' });
    expect(conflict.body).toMatchObject({ streamId: id, expected: 'no_stream', actual: 0 });
  });

  it('names the field of a 400, from the route schema', async () => {
    const error = await refusal(
      client.append(streamId(), [{ type: '', data: {} }], { expectedVersion: 'any' }),
    );
    expect(error).toMatchObject({ status: 400, code: 'invalid_request', field: 'events.0.type' });
    const badStream = await refusal(client.readStream('no spaces allowed'));
    expect(badStream).toMatchObject({ code: 'invalid_request', field: 'streamId' });
  });

  it('retries an append whose answer was lost with the same ids: stored once', async () => {
    const lossy = losingFirstAnswers(1);
    const retrying = new RefractClient({ writeUrl, fetch: lossy.fetch, backoff: { baseMs: 1 } });
    const id = streamId();
    const appended = await retrying.append(id, [placed('o-2')], { expectedVersion: 'no_stream' });
    expect(lossy.calls).toHaveLength(2);
    expect(lossy.calls[0]?.body).toBe(lossy.calls[1]?.body);
    // The retry found its events stored: the original answer, nothing written.
    expect(appended).toMatchObject({ duplicate: true, lastVersion: 0 });
    expect((await client.readStream(id)).events.map((e) => e.id)).toEqual(appended.eventIds);
  });

  it('retries a 503 with the same body, and refuses an event the application does not declare', async () => {
    const calls: RequestInit[] = [];
    const busy = new RefractClient({
      writeUrl,
      backoff: { baseMs: 1 },
      fetch: async (input, init) => {
        calls.push(init ?? {});
        if (calls.length === 1) {
          return new Response(JSON.stringify({ error: 'shutting_down', message: 'closing' }), {
            status: 503,
          });
        }
        return fetch(input, init);
      },
    });
    const appended = await busy.append(streamId(), [placed('o-5')]);
    expect(appended.duplicate).toBe(false);
    expect(calls.map((c) => c.body)).toEqual([calls[0]?.body, calls[0]?.body]);
    const undeclared = await refusal(client.append(streamId(), [{ type: 'Noted', data: {} }]));
    expect(undeclared).toMatchObject({
      status: 422,
      code: 'invalid_event',
      field: 'events.0.type',
    });
  });

  it('sends a key with every command; a retry with it is replayed, not run again', async () => {
    const lossy = losingFirstAnswers(1);
    const retrying = new RefractClient({ writeUrl, fetch: lossy.fetch, backoff: { baseMs: 1 } });
    const orderId = `o-${crypto.randomUUID()}`;
    const done = await retrying.command('PlaceOrder', { orderId, customerId: 'c-2' });
    expect(lossy.calls).toHaveLength(2);
    expect(done).toMatchObject({ streamId: `order-${orderId}`, version: 0, replayed: true });
    const again = await client.command(
      'PlaceOrder',
      { orderId, customerId: 'c-2' },
      { idempotencyKey: done.idempotencyKey },
    );
    expect(again).toMatchObject({ version: 0, position: done.position, replayed: true });
    expect((await client.readStream(`order-${orderId}`)).events).toHaveLength(1);
    const conflict = await refusal(
      client.command(
        'PlaceOrder',
        { orderId, customerId: 'someone-else' },
        { idempotencyKey: done.idempotencyKey },
      ),
    );
    expect(conflict).toMatchObject({ status: 409, code: 'idempotency_conflict' });
    const refused = await refusal(client.command('PlaceOrder', { orderId }));
    expect(refused).toMatchObject({ status: 400, field: 'customerId' });
  });

  it('reads a stream page by page with the next fromVersion, and all of it with readAll', async () => {
    const stream = streamId();
    const accepted = Array.from({ length: 5 }, () => placed(`o-${crypto.randomUUID()}`));
    await client.append(stream, accepted);
    const first = await client.readStream(stream, { limit: 2 });
    expect(first.events.map((e) => e.version)).toEqual([0, 1]);
    expect(first.nextFromVersion).toBe(2);
    const last = await client.readStream(stream, { fromVersion: 4, limit: 2 });
    expect(last.events.map((e) => e.version)).toEqual([4]);
    expect(last.nextFromVersion).toBeNull();
    const all = [];
    for await (const event of client.readAll(stream, { limit: 2 })) all.push(event.version);
    expect(all).toEqual([0, 1, 2, 3, 4]);
    const missing = await refusal(client.readStream(streamId()));
    expect(missing).toMatchObject({ status: 404, code: 'stream_not_found' });
  });

  it('reads the query API after a write: the wait goes with the read, its timeout is a typed 504', async () => {
    const orderId = `o-${crypto.randomUUID()}`;
    const done = await client.command('PlaceOrder', { orderId, customerId: 'c-4' });
    // No worker runs here, so the wait can only time out: it was asked for.
    const late = await refusal(client.read(`/orders/${orderId}`, { after: done, timeoutMs: 100 }));
    expect(late).toMatchObject({ status: 504, code: 'not_caught_up' });
    expect(late.body).toMatchObject({ minPosition: done.position, timeoutMs: 100 });
    const unknown = await refusal(client.read(`/orders/${orderId}`));
    expect(unknown).toMatchObject({ status: 404, code: 'order_not_found' });
  });
});

describe('token', () => {
  it('sends the bearer token to write-api and query-api, which refuse requests without it', async () => {
    const WRITE = 'client-write-token-0123456789';
    const READ = 'client-read-token-0123456789';
    const securedWrite = buildWriteApi({
      store,
      logger,
      metrics: createMetrics(),
      app: ordersApp,
      tokens: [{ name: 'WRITE_API_TOKEN', scopes: ['read', 'write'], token: WRITE }],
    });
    const securedQuery = buildQueryApi({
      pool,
      watcher,
      queryApis: ordersApp.queryApis,
      logger,
      metrics: createMetrics(),
      tokens: [{ name: 'QUERY_API_TOKEN', scopes: ['read'], token: READ }],
    });
    try {
      const urls = {
        writeUrl: `http://127.0.0.1:${await listen(securedWrite, { port: 0, host: '127.0.0.1' })}`,
        queryUrl: `http://127.0.0.1:${await listen(securedQuery, { port: 0, host: '127.0.0.1' })}`,
      };
      const id = streamId();
      const anonymous = new RefractClient({ ...urls, retries: 0 });
      expect((await refusal(anonymous.append(id, [placed('o-anon')]))).status).toBe(401);

      const authorised = new RefractClient({ ...urls, token: WRITE, queryToken: READ });
      const appended = await authorised.append(id, [placed('o-token')]);
      expect(appended.lastPosition).toBeGreaterThan(0);
      expect((await authorised.readStream(id)).events).toHaveLength(1);
      const wrongForQuery = new RefractClient({ ...urls, token: WRITE, retries: 0 });
      expect(
        (await refusal(wrongForQuery.read('/orders/o-token', { after: appended }))).status,
      ).toBe(401);
      // The read token opens query-api: past auth, the order is there once projected, or not yet.
      const read = await authorised.read('/orders/o-token').catch((error: unknown) => error);
      if (read instanceof RefractHttpError) expect([401, 403]).not.toContain(read.status);
    } finally {
      await securedWrite.close();
      await securedQuery.close();
    }
  });
});
