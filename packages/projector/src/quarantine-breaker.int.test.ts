import { defineProjection, type Projection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  eventually,
  type RedisServer,
  startRedisServer,
  type TestDatabase,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchUp } from './catch-up.js';
import { listQuarantinedStreams, retryParkedEvent, skipParkedEvent } from './parked.js';
import { readRegisteredProjection, resumeProjection } from './pause.js';
import { registerProjection } from './register.js';
import { ProjectorWorker } from './worker.js';

const PARTITIONS = 8;
const logger = createLogger({ service: 'quarantine-test', level: 'silent' });
let db: TestDatabase;
let store: EventStore;
let server: RedisServer;
let relay: Relay;

interface Item {
  orderId: string;
  sku: string;
  unitPrice: string | number;
}

/**
 * Orders with their items' skus in the order they were applied: a row out
 * of stream order, or with an item twice, differs from the fold. While
 * `broken.now`, an ItemAdded whose unitPrice is a JSON number throws, the
 * mistake of issue 17's client (a decimal string is expected).
 */
function orderItems(name: string, broken: { now: boolean }, extra: Partial<Projection> = {}) {
  return {
    ...defineProjection({
      name,
      version: 1,
      pool: 'test',
      handles: ['OrderPlaced', 'ItemAdded'],
      tables: [name],
      crossPartitionBatches: true,
      setup: (table) =>
        `CREATE TABLE IF NOT EXISTS ${table(name)} (order_id text PRIMARY KEY, skus text[] NOT NULL)`,
      async applyBatch(events, ctx) {
        for (const event of events) {
          const item = event.data as unknown as Item;
          if (event.type === 'ItemAdded' && broken.now && typeof item.unitPrice === 'number') {
            throw new Error('unitPrice must be a decimal string');
          }
          await ctx.sql.query(
            `INSERT INTO ${ctx.table(name)} AS t VALUES ($1, $2)
             ON CONFLICT (order_id) DO UPDATE SET skus = t.skus || EXCLUDED.skus`,
            [item.orderId, event.type === 'ItemAdded' ? [item.sku] : []],
          );
        }
      },
    }),
    ...extra,
  } satisfies Projection;
}

const placed = (orderId: string) => ({ type: 'OrderPlaced', data: { orderId } });
const item = (orderId: string, sku: string, unitPrice: string | number = '1.00') => ({
  type: 'ItemAdded',
  data: { orderId, sku, unitPrice },
});

/** Each order's skus as the log folds them (every ItemAdded, in stream order). */
async function fold(orderIds?: string[]): Promise<Map<string, string[]>> {
  const rows = await store.pool.query<{ order_id: string; skus: string[] }>(
    `SELECT data->>'orderId' AS order_id,
            coalesce(array_agg(data->>'sku' ORDER BY version) FILTER (WHERE type = 'ItemAdded'), '{}') AS skus
     FROM refract.events WHERE type IN ('OrderPlaced', 'ItemAdded')
       AND ($1::text[] IS NULL OR data->>'orderId' = ANY ($1))
     GROUP BY 1`,
    [orderIds ?? null],
  );
  return new Map(rows.rows.map((r) => [r.order_id, r.skus]));
}

/** Catch-up of one projection version to the head of the log. */
async function catchUpAll(projection: Projection, version: number) {
  return catchUp({
    store,
    projections: [{ projection, version }],
    upTo: await store.headPosition(),
    log: logger,
  });
}

/** One stream's quarantine in a projection, if it has one (on the first page). */
async function quarantinedStream(projection: string, streamId: string) {
  const page = await listQuarantinedStreams(store, projection);
  return page.streams.find((s) => s.streamId === streamId);
}

async function readModel(table: string): Promise<Map<string, string[]>> {
  const rows = await store.pool.query<{ order_id: string; skus: string[] }>(
    `SELECT order_id, skus FROM projections.${table}`,
  );
  return new Map(rows.rows.map((r) => [r.order_id, r.skus]));
}

/**
 * The breaker's count (the partitions' parked_open, kept by a trigger)
 * equals the open parked events (rows, and positions held in them),
 * partition by partition; returns their total.
 */
async function openParkedCount(projection: string): Promise<number> {
  const rows = await store.pool.query<{ partition: number; kept: string; counted: string }>(
    `SELECT c.partition, c.parked_open AS kept, count(p.id) AS counted
     FROM refract.projection_checkpoints AS c
     LEFT JOIN refract.parked_events_all AS p ON p.projection = c.projection
       AND p.version = c.version AND p.partition = c.partition AND p.resolution IS NULL
     WHERE c.projection = $1 GROUP BY c.partition, c.parked_open`,
    [projection],
  );
  for (const row of rows.rows) expect(row.kept, `partition ${row.partition}`).toBe(row.counted);
  return rows.rows.reduce((sum, row) => sum + Number(row.counted), 0);
}

beforeAll(async () => {
  db = await createTestDatabase('quarantine-breaker');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  server = await startRedisServer();
  relay = new Relay({ databaseUrl: db.url, redis: createRedisClient(server.url), windowSize: 500 });
  relay.start();
});

afterAll(async () => {
  await relay?.close();
  await store?.close();
  await server?.kill();
  await db?.drop();
});

describe('quarantine', () => {
  it("parks an order's later items behind its first bad one, and a retry after the fix applies them in order", async () => {
    const broken = { now: true };
    const projection = orderItems('q_orders', broken);
    const { liveVersion: version } = await registerProjection(store.pool, projection, PARTITIONS);
    const run = () => catchUpAll(projection, version);
    await store.append('order-q1', [placed('q1'), item('q1', 'first', 12.5)]);
    await store.append('order-ok', [placed('ok'), item('ok', 'a')]);
    expect(await run()).toMatchObject({ parked: 1 });
    await store.append('order-q1', [item('q1', 'second'), item('q1', 'third', '3.00')]);
    await store.append('order-ok', [item('ok', 'b')]);
    // q1's good items wait behind the bad one; other orders go on.
    expect(await run()).toMatchObject({ parked: 2, applied: 1 });
    expect(await openParkedCount('q_orders')).toBe(3);
    const model = await readModel('q_orders');
    expect(model.get('q1')).toEqual([]);
    expect(model.get('ok')).toEqual(['a', 'b']);
    const page = await listQuarantinedStreams(store, 'q_orders');
    expect(page.next).toBeNull();
    expect(page.streams).toHaveLength(1);
    const [stream] = page.streams;
    expect(stream!.streamId).toBe('order-q1');
    expect(stream!.events.map((e) => e.behind)).toEqual([
      null,
      stream!.events[0]!.position,
      stream!.events[0]!.position,
    ]);

    broken.now = false;
    const retried = await retryParkedEvent(store, projection, stream!.events[0]!.id);
    expect(retried.resolution).toBe('retried');
    expect(await openParkedCount('q_orders')).toBe(0);
    expect((await readModel('q_orders')).get('q1')).toEqual(['first', 'second', 'third']);
    // Released: the next item is applied at once, after the others.
    await store.append('order-q1', [item('q1', 'fourth')]);
    expect(await run()).toMatchObject({ parked: 0, applied: 1 });
    expect(await readModel('q_orders')).toEqual(await fold(['q1', 'ok']));
    expect((await listQuarantinedStreams(store, 'q_orders')).streams).toEqual([]);
  });

  it('skipping the head of a quarantine releases the events behind it, in order, up to the next that fails', async () => {
    const broken = { now: true };
    const projection = orderItems('s_orders', broken);
    const { liveVersion: version } = await registerProjection(store.pool, projection, PARTITIONS);
    await store.append('order-s1', [
      placed('s1'),
      item('s1', 'dropped', 1),
      item('s1', 'kept'),
      item('s1', 'again-bad', 2),
      item('s1', 'after'),
    ]);
    await catchUpAll(projection, version);
    // The log is shared with the test above: its order is quarantined here too.
    const ofS1 = () => quarantinedStream('s_orders', 'order-s1');
    const stream = await ofS1();
    expect(stream!.events.map((e) => e.behind === null)).toEqual([true, false, false, false]);
    const open = await openParkedCount('s_orders');
    await skipParkedEvent(store, projection, stream!.events[0]!.id);
    // 'dropped' skipped, 'kept' retried: both leave the breaker's count.
    expect(await openParkedCount('s_orders')).toBe(open - 2);
    // 'kept' is applied; 'again-bad' fails in turn and heads the quarantine with 'after' behind it.
    expect((await readModel('s_orders')).get('s1')).toEqual(['kept']);
    const left = await ofS1();
    expect(left!.events.map((e) => [e.position, e.behind, e.error])).toEqual([
      [stream!.events[2]!.position, null, 'unitPrice must be a decimal string'],
      [stream!.events[3]!.position, stream!.events[2]!.position, expect.any(String)],
    ]);
  });

  it('an event held behind the head is skipped alone, or retried, by its id (minus its position)', async () => {
    const broken = { now: true };
    const projection = orderItems('h_orders', broken);
    const { liveVersion: version } = await registerProjection(store.pool, projection, PARTITIONS);
    await store.append('order-h1', [
      placed('h1'),
      item('h1', 'bad', 1),
      item('h1', 'a'),
      item('h1', 'b'),
      item('h1', 'c'),
    ]);
    await catchUpAll(projection, version);
    const ofH1 = () => quarantinedStream('h_orders', 'order-h1');
    const [head, a, b, c] = (await ofH1())!.events;
    expect([a, b, c].map((e) => e!.id)).toEqual([a, b, c].map((e) => -e!.position));
    // The log is shared with the tests above: their orders are quarantined here too.
    const open = await openParkedCount('h_orders');
    const skipped = await skipParkedEvent(store, projection, b!.id);
    expect(skipped).toMatchObject({ position: b!.position, resolution: 'skipped' });
    expect(skipped.behind).toBe(head!.position);
    expect((await ofH1())!.events.map((e) => e.position)).toEqual([
      head!.position,
      a!.position,
      c!.position,
    ]);
    expect(await openParkedCount('h_orders')).toBe(open - 1);
    broken.now = false;
    // Any id of the stream replays it from its head, in order.
    const retried = await retryParkedEvent(store, projection, c!.id);
    expect(retried).toMatchObject({ position: c!.position, resolution: 'retried' });
    expect((await readModel('h_orders')).get('h1')).toEqual(['bad', 'a', 'c']);
    expect(await openParkedCount('h_orders')).toBe(open - 4);
    await expect(skipParkedEvent(store, projection, a!.id)).rejects.toMatchObject({
      code: 'already_resolved',
    });
  });
});

describe('isolating the poison of a folding handler', () => {
  it('finds the bad events in memory: the good ones land in one statement', async () => {
    const name = 'f_orders';
    let statements = 0;
    // Reads the whole batch before its one statement, like the orders
    // example: a bad event is refused before anything is sent.
    const projection = defineProjection({
      name,
      version: 1,
      pool: 'test',
      handles: ['OrderPlaced', 'ItemAdded'],
      tables: [name],
      setup: (table) =>
        `CREATE TABLE IF NOT EXISTS ${table(name)} (order_id text PRIMARY KEY, skus text[] NOT NULL)`,
      async applyBatch(events, ctx) {
        const rows = events.map((event) => {
          const data = event.data as unknown as Item;
          if (event.type === 'ItemAdded' && typeof data.unitPrice === 'number') {
            throw new Error('unitPrice must be a decimal string');
          }
          return [data.orderId, event.type === 'ItemAdded' ? data.sku : null] as const;
        });
        await ctx.sql.query(
          `INSERT INTO ${ctx.table(name)} AS t (order_id, skus)
           SELECT id, coalesce(array_agg(sku ORDER BY n) FILTER (WHERE sku IS NOT NULL), '{}')
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS b(id, sku, n) GROUP BY id
           ON CONFLICT (order_id) DO UPDATE SET skus = t.skus || EXCLUDED.skus`,
          [rows.map((r) => r[0]), rows.map((r) => r[1])],
        );
        statements += 1;
      },
    });
    const { liveVersion: version } = await registerProjection(store.pool, projection, PARTITIONS);
    const run = async () =>
      catchUp({
        store,
        projections: [{ projection, version }],
        upTo: await store.headPosition(),
        log: logger,
      });
    // The log the tests above left, first.
    await run();
    // 30 orders of one partition, every sixth with a bad item: 5 poison
    // events in one batch of 60.
    const ids: string[] = [];
    for (let i = 0; ids.length < 30; i += 1) {
      if (store.partitionOf(`order-f${i}`) === 0) ids.push(`f${i}`);
    }
    for (const [n, id] of ids.entries()) {
      await store.append(`order-${id}`, [
        placed(id),
        item(id, `${id}-sku`, n % 6 === 0 ? 2 : '2.00'),
      ]);
    }
    statements = 0;
    expect(await run()).toMatchObject({ parked: 5, applied: 55 });
    // Bisection would apply about 5·log2(60/5) segments: the good events
    // land in one (a refusal sends nothing, so costs none).
    expect(statements).toBe(1);
    const model = await readModel(name);
    const want = await fold(ids);
    for (const [n, id] of ids.entries()) {
      expect(model.get(id)).toEqual(n % 6 === 0 ? [] : want.get(id));
    }
  });
});

describe('the circuit breaker', () => {
  it('trips a projection that throws on one event type, and a fixed handler resumes it to the fold', async () => {
    const broken = { now: true };
    const projection = orderItems('b_orders', broken, { tripAfterParked: 5 });
    // Beside it in the same worker, a projection that never fails: its
    // progress shows the worker had its chance to apply the tripped one.
    const control = orderItems('b_control', { now: false });
    const orders = Array.from({ length: 12 }, (_, i) => `b${i}`);
    for (const id of orders) {
      await store.append(`order-${id}`, [
        placed(id),
        item(id, `${id}-good`),
        item(id, `${id}-bad`, 9.99),
        item(id, `${id}-after`),
      ]);
    }
    const worker = new ProjectorWorker({
      databaseUrl: db.url,
      redisUrl: server.url,
      keyPrefix: 'refract-breaker:',
      pool: 'test',
      projections: [projection, control],
      heartbeatMs: 200,
      leaseTtlMs: 1500,
      blockMs: 200,
      batchSize: 100,
      logger,
    });
    await worker.start();
    try {
      const tripped = await eventually(
        async () => {
          const row = await readRegisteredProjection(store.pool, 'b_orders');
          expect(row?.trippedAt).toBeInstanceOf(Date);
          return row!;
        },
        { timeoutMs: 20_000 },
      );
      expect(tripped.tripReason).toBe('more than 5 events parked');
      // The worker leaves it like a paused projection...
      await eventually(() =>
        expect(worker.status().checkpoints.some((c) => c.projection === 'b_orders')).toBe(false),
      );
      await store.append('order-late', [placed('late'), item('late', 'late-sku')]);
      await eventually(async () =>
        expect((await readModel('b_control')).get('late')).toEqual(['late-sku']),
      );
      // ...and applies nothing more of it while the control went on.
      expect((await readModel('b_orders')).has('late')).toBe(false);

      broken.now = false;
      // Every order with a bad item (those of the tests above too: the log is shared).
      const quarantined = await store.pool.query<{ n: number }>(
        "SELECT count(DISTINCT stream_id)::int AS n FROM refract.parked_events WHERE projection = 'b_orders' AND resolution IS NULL",
      );
      expect(quarantined.rows[0]!.n).toBeGreaterThanOrEqual(orders.length);
      const resumed = await resumeProjection(store, projection);
      expect(resumed?.registered).toMatchObject({ paused: false, trippedAt: null });
      expect(resumed?.retried).toMatchObject({ streams: quarantined.rows[0]!.n, failed: [] });
      await eventually(async () => expect(await readModel('b_orders')).toEqual(await fold()), {
        timeoutMs: 20_000,
      });
      expect((await listQuarantinedStreams(store, 'b_orders')).streams).toEqual([]);
      expect(await openParkedCount('b_orders')).toBe(0);
    } finally {
      await worker.close();
    }
  });
});
