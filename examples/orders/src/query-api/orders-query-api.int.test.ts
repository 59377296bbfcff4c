import { randomUUID } from 'node:crypto';
import { batchContext, type NewEvent } from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { registerProjection } from '@refract/projector';
import {
  CHECKPOINTS_CHANNEL,
  type CheckpointWatcher,
  createCheckpointWatcher,
  readYourWritesPlugin,
  type WaitReport,
} from '@refract/read-your-writes';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderProjections } from '../app.js';
import { orderStreamId } from '../events.js';
import { ordersQueryApi } from './orders-query-api.js';

const PARTITIONS = 4;

let db: TestDatabase;
let store: EventStore;
/** The server's pool. */
let pool: pg.Pool;
/** The simulated worker's pool. */
let workerPool: pg.Pool;
let watcher: CheckpointWatcher;
let app: FastifyInstance;
let rechecks = 0;
/** Every finished wait, as the query-api service counts them in its metrics. */
const waits: WaitReport[] = [];

// Served as the query-api service serves it: the read-your-writes plugin,
// then the query API with its context. Woken by notifications only: the
// safety re-check is an hour away.
beforeAll(async () => {
  db = await createTestDatabase('orders_query_api');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  pool = createPool({ connectionString: db.url, max: 10 });
  workerPool = createPool({ connectionString: db.url, max: 4 });
  for (const projection of orderProjections) {
    await registerProjection(workerPool, projection, PARTITIONS);
  }
  watcher = await createCheckpointWatcher({
    pool,
    recheckMs: 3_600_000,
    onRecheck: () => {
      rechecks += 1;
    },
    onWait: (report) => waits.push(report),
  });
  // The service's router lets over-long ids through to the id check (a 400, not a 414).
  app = Fastify({ routerOptions: { maxParamLength: 1024 } });
  await app.register(readYourWritesPlugin, { readYourWrites: watcher });
  await ordersQueryApi.register(app, { db: pool, readYourWrites: watcher });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await watcher?.close();
  await store?.close();
  await pool?.end();
  await workerPool?.end();
  await db?.drop();
});

/**
 * The worker, simulated: for each projection and partition, applies the
 * events after its checkpoint in one transaction that also moves the
 * checkpoint and notifies, as the runtime does.
 */
async function work(options: { partitions?: number[] } = {}): Promise<void> {
  const partitions = options.partitions ?? [...Array(PARTITIONS).keys()];
  for (const projection of orderProjections) {
    for (const partition of partitions) {
      const client = await workerPool.connect();
      try {
        await client.query('BEGIN');
        const checkpoint = await client.query<{ position: number; version: number }>(
          `SELECT c.position, c.version FROM refract.projection_checkpoints c
           JOIN refract.projections p ON p.name = c.projection AND p.live_version = c.version
           WHERE c.projection = $1 AND c.partition = $2 FOR UPDATE`,
          [projection.name, partition],
        );
        const { position, version } = checkpoint.rows[0]!;
        const events = await store.readAll({ after: position, partitions: [partition] });
        if (events.length === 0) {
          await client.query('ROLLBACK');
          continue;
        }
        await projection.applyBatch(
          events.filter((e) => projection.handles.includes(e.type)),
          batchContext(
            { query: (text, values) => client.query(text, values) as never },
            projection,
            version,
            partition,
          ),
        );
        const last = events.at(-1)!.position;
        await client.query(
          `UPDATE refract.projection_checkpoints SET position = $4
           WHERE projection = $1 AND version = $2 AND partition = $3 AND position = $5`,
          [projection.name, version, partition, last, position],
        );
        await client.query('SELECT pg_notify($1, $2)', [
          CHECKPOINTS_CHANNEL,
          `${projection.name}:${version}:${partition}:${last}`,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    }
  }
}

const id = () => randomUUID().slice(0, 8);

/** An order id whose stream lives in the given partition. */
function orderIn(partition: number): string {
  for (;;) {
    const orderId = id();
    if (store.partitionOf(orderStreamId(orderId)) === partition) return orderId;
  }
}

function placed(orderId: string, customerId: string, placedAt = '2024-03-01T10:00:00.000Z') {
  return { type: 'OrderPlaced', data: { orderId, customerId, placedAt } };
}
function item(orderId: string, qty: number, unitPrice: string) {
  return { type: 'ItemAdded', data: { orderId, sku: 'sku-1', qty, unitPrice } };
}
function shipped(orderId: string) {
  return { type: 'OrderShipped', data: { orderId, trackingNumber: 'TRK1' } };
}
function cancelled(orderId: string) {
  return { type: 'OrderCancelled', data: { orderId, reason: 'customer request' } };
}

/** Appends to the order's stream; returns the last position. */
async function append(orderId: string, events: NewEvent[]): Promise<number> {
  const result = await store.append(orderStreamId(orderId), events);
  return result.lastPosition;
}

function get(url: string) {
  return app.inject({ method: 'GET', url });
}

/** Finished waits with this outcome so far. */
const waitsWoken = (outcome: WaitReport['outcome']) =>
  waits.filter((w) => w.outcome === outcome).length;

describe('GET /orders/:orderId', () => {
  it('answers the order_summary row, money as a two-place decimal string', async () => {
    const orderId = id();
    const customerId = `customer-${id()}`;
    await append(orderId, [
      placed(orderId, customerId),
      item(orderId, 3, '41.15'),
      item(orderId, 1, '0.00'),
      shipped(orderId),
    ]);
    await work();
    const response = await get(`/orders/${orderId}`);
    expect(response.statusCode).toBe(200);
    const slice = await store.readStream(orderStreamId(orderId));
    expect(response.json()).toEqual({
      orderId,
      customerId,
      status: 'shipped',
      itemCount: 2,
      total: '123.45',
      placedAt: '2024-03-01T10:00:00.000Z',
      position: slice.events.at(-1)!.position,
    });
    expect(response.headers['content-type']).toMatch(/^application\/json/);
  });

  it('writes cents, empty orders and large totals exactly', async () => {
    const cases: [NewEvent[], string][] = [];
    const small = id();
    cases.push([[placed(small, 'c-money'), item(small, 1, '0.05')], '0.05']);
    const empty = id();
    cases.push([[placed(empty, 'c-money'), cancelled(empty)], '0.00']);
    const large = id();
    // 100 × 99,999,999.99 = 9,999,999,999.00: beyond a 32-bit int of cents, exact.
    cases.push([[placed(large, 'c-money'), item(large, 100, '99999999.99')], '9999999999.00']);
    const tenth = id();
    cases.push([
      [placed(tenth, 'c-money'), item(tenth, 3, '0.10'), item(tenth, 1, '1000')],
      '1000.30',
    ]);
    for (const [events] of cases) {
      await append((events[0]!.data as { orderId: string }).orderId, events);
    }
    await work();
    for (const [events, total] of cases) {
      const orderId = (events[0]!.data as { orderId: string }).orderId;
      const response = await get(`/orders/${orderId}`);
      expect(response.json().total).toBe(total);
    }
  });

  it('answers 404 order_not_found for an order it does not know', async () => {
    const response = await get('/orders/never-placed');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: 'order_not_found',
      message: 'order never-placed does not exist',
      orderId: 'never-placed',
    });
  });
});

describe('GET /customers/:customerId/stats', () => {
  it('answers the customer_stats row: counts, and lifetime value of shipped orders only', async () => {
    const customerId = `customer-${id()}`;
    const [a, b, c] = [id(), id(), id()];
    await append(a, [placed(a, customerId), item(a, 2, '10.10'), shipped(a)]);
    await append(b, [placed(b, customerId), item(b, 1, '5.01'), cancelled(b)]);
    await append(c, [placed(c, customerId), item(c, 1, '0.99'), shipped(c)]);
    const d = id();
    await append(d, [placed(d, customerId), item(d, 1, '7.00')]);
    await work();
    const response = await get(`/customers/${customerId}/stats`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      customerId,
      ordersPlaced: 4,
      ordersShipped: 2,
      ordersCancelled: 1,
      lifetimeValue: '21.19',
    });
  });

  it('answers 404 customer_not_found for a customer without orders', async () => {
    const response = await get('/customers/customer-nobody/stats');
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({
      error: 'customer_not_found',
      customerId: 'customer-nobody',
    });
  });
});

describe('bad input', () => {
  it.each([
    ['/orders/1?minPosition=-1', 'minPosition'],
    ['/orders/1?minPosition=abc', 'minPosition'],
    ['/orders/1?minPosition=1.5', 'minPosition'],
    ['/orders/1?minPosition=1e3', 'minPosition'],
    ['/orders/1?minPosition=', 'minPosition'],
    ['/orders/1?minPosition=99999999999999999999', 'minPosition'],
    ['/orders/1?minPosition=1&minPosition=2', 'minPosition'],
    ['/orders/1?timeoutMs=60001', 'timeoutMs'],
    ['/orders/1?timeoutMs=-5', 'timeoutMs'],
    ['/orders/1?timeoutMs=soon', 'timeoutMs'],
    ['/customers/c1/stats?minPosition=x', 'minPosition'],
    ['/customers/c1/stats?timeoutMs=1000000', 'timeoutMs'],
    ['/orders/has%20space', 'orderId'],
    [`/orders/${'x'.repeat(101)}`, 'orderId'],
    ['/customers/%C3%A9/stats', 'customerId'],
    ['/orders/has%20space?minPosition=1', 'orderId'],
  ])('%s → 400 naming %s', async (url, field) => {
    const response = await get(url);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_request', field });
    expect(response.json().message).toEqual(expect.any(String));
  });
});

describe('read-your-writes: ?minPosition=', () => {
  it('answers at once when the checkpoint is already there', async () => {
    const orderId = id();
    const position = await append(orderId, [placed(orderId, 'c-now')]);
    await work();
    const before = waitsWoken('immediate');
    const started = Date.now();
    const response = await get(`/orders/${orderId}?minPosition=${position}`);
    expect(response.statusCode).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);
    expect(response.json()).toMatchObject({ orderId, position });
    expect(waitsWoken('immediate')).toBe(before + 1);
  });

  it('waits for the checkpoint and answers once its notification arrives, without polling', async () => {
    const orderId = id();
    const position = await append(orderId, [placed(orderId, 'c-later'), item(orderId, 2, '1.25')]);
    const rechecksBefore = rechecks;
    let answeredAt = 0;
    const pending = get(`/orders/${orderId}?minPosition=${position}&timeoutMs=10000`).then(
      (response) => {
        answeredAt = Date.now();
        return response;
      },
    );
    await eventually(() => expect(watcher.pendingWaits).toBe(1));
    expect(answeredAt).toBe(0);

    // Without the row there would be a 404: the wait must end after the commit.
    const committedBefore = Date.now();
    await work();
    const committedAfter = Date.now();
    const response = await pending;
    expect(answeredAt).toBeGreaterThanOrEqual(committedBefore);
    expect(answeredAt - committedAfter).toBeLessThan(1000);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ orderId, itemCount: 1, total: '2.50', position });
    // Woken by the notification: no re-check query ran.
    expect(rechecks).toBe(rechecksBefore);
    expect(waitsWoken('notification')).toBeGreaterThanOrEqual(1);
  });

  it('does not wait on other streams: the target is the stream’s own last event', async () => {
    const orderId = orderIn(0);
    await append(orderId, [placed(orderId, 'c-own')]);
    await work({ partitions: [0] });
    // A later position of another partition, still unapplied, does not hold this read.
    const other = orderIn(1);
    const later = await append(other, [placed(other, 'c-other')]);
    const response = await get(`/orders/${orderId}?minPosition=${later}&timeoutMs=0`);
    expect(response.statusCode).toBe(200);
    await work();
  });

  it('answers 504 not_caught_up at the timeout', async () => {
    const orderId = id();
    const position = await append(orderId, [placed(orderId, 'c-slow')]);
    const partition = store.partitionOf(orderStreamId(orderId));
    const started = Date.now();
    const response = await get(`/orders/${orderId}?minPosition=${position}&timeoutMs=300`);
    const elapsed = Date.now() - started;
    expect(response.statusCode).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    expect(response.json()).toEqual({
      error: 'not_caught_up',
      message: `order_summary has not applied every event of order-${orderId} up to position ${position} within 300 ms`,
      projection: 'order_summary',
      minPosition: position,
      timeoutMs: 300,
      pending: [{ partition, target: position, checkpoint: expect.any(Number) }],
    });
    expect(watcher.pendingWaits).toBe(0);

    const now = await get(`/orders/${orderId}?minPosition=${position}&timeoutMs=0`);
    expect(now.statusCode).toBe(504);
    await work();
    expect((await get(`/orders/${orderId}?minPosition=${position}&timeoutMs=0`)).statusCode).toBe(
      200,
    );
  });

  it('answers 404 after the wait when the stream has no event up to minPosition', async () => {
    const response = await get('/orders/ghost?minPosition=1&timeoutMs=0');
    expect(response.statusCode).toBe(404);
  });

  it('waits for every partition for customer stats', async () => {
    await work();
    const customerId = `customer-${id()}`;
    const mine = orderIn(0);
    await append(mine, [placed(mine, customerId)]);
    const early = orderIn(3);
    const earlyPosition = await append(early, [placed(early, 'c-early')]);
    // Another customer's order in another partition, later in the log: the
    // stats of customerId are only known complete up to `later` once
    // partition 1 has applied it too.
    const other = orderIn(1);
    const later = await append(other, [placed(other, 'c-someone-else')]);

    let answered = false;
    const pending = get(`/customers/${customerId}/stats?minPosition=${later}&timeoutMs=10000`).then(
      (response) => {
        answered = true;
        return response;
      },
    );
    // Needs partitions 0 and 3 only: answered by the last notification of the next step.
    const signal = get(`/customers/c-early/stats?minPosition=${earlyPosition}&timeoutMs=10000`);
    await eventually(() => expect(watcher.pendingWaits).toBe(2));
    await work({ partitions: [0, 2, 3] });
    expect((await signal).statusCode).toBe(200);
    expect(answered).toBe(false);
    await work({ partitions: [1] });
    const response = await pending;
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ customerId, ordersPlaced: 1 });
  });

  it('does not wait for partitions without events up to minPosition', async () => {
    await work();
    // At the head: partitions whose events are all applied, or that have none, do not hold the read.
    const head = await pool.query<{ head: string }>(
      'SELECT max(position)::text AS head FROM refract.events',
    );
    const response = await get(
      `/customers/c-money/stats?minPosition=${head.rows[0]!.head}&timeoutMs=0`,
    );
    expect(response.statusCode).toBe(200);
  });

  it('answers 504 for a position beyond the head of the log, which has not happened yet', async () => {
    const response = await get('/customers/c-money/stats?minPosition=999999999&timeoutMs=100');
    expect(response.statusCode).toBe(504);
    expect(response.json()).toMatchObject({ error: 'not_caught_up', minPosition: 999999999 });
  });
});
