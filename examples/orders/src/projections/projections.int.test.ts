import {
  batchContext,
  type Projection,
  partitionOf,
  type RecordedEvent,
  type SqlExecutor,
  versionedTable,
} from '@refract/core';
import { createPool, migrate } from '@refract/event-store';
import { registerProjection } from '@refract/projector';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { orderProjections } from '../app.js';
import type { OrderEvent } from '../events.js';
import { expectedReadModels } from '../expected-read-models.js';
import { seededRandom } from '../seeded-random.js';
import { generateWorkload, type WorkloadEvent } from '../workload.js';
import { customerStatsProjection } from './customer-stats.js';
import { orderSummaryProjection } from './order-summary.js';

const PARTITIONS = 8;
const EVENTS = 20_000;

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('example_orders_projections');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  // As many connections as partitions: every partition's batches can run at once.
  pool = createPool({ connectionString: db.url, max: PARTITIONS * 2 + 2 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

beforeEach(async () => {
  // Each test starts from empty read models and checkpoints at 0.
  await pool.query('DROP SCHEMA IF EXISTS projections CASCADE; CREATE SCHEMA projections');
  await pool.query('TRUNCATE refract.projections, refract.projection_checkpoints');
  for (const projection of orderProjections) {
    await registerProjection(pool, projection, PARTITIONS);
  }
});

/** Log positions with holes (rolled-back appends leave some), as the store hands them out. */
const positionOf = (index: number) => 2 * index + 1;

function recorded(item: WorkloadEvent): RecordedEvent {
  return {
    id: item.event.id,
    streamId: item.streamId,
    type: item.event.type,
    data: item.event.data,
    metadata: {},
    schemaVersion: 1,
    version: item.version,
    position: positionOf(item.index),
    partition: partitionOf(item.streamId, PARTITIONS),
    createdAt: new Date(0),
  };
}

/** A bare event for hand-made batches: stream, position and partition given by the test. */
function event(position: number, partition: number, order: OrderEvent): RecordedEvent {
  return {
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    streamId: `order-${order.data.orderId}`,
    type: order.type,
    data: order.data,
    metadata: {},
    schemaVersion: 1,
    version: 0,
    position,
    partition,
    createdAt: new Date(0),
  };
}

/**
 * The runtime's part, reduced to what the projections rely on: one
 * transaction per batch that applies the handled events and moves the
 * partition's checkpoint by compare-and-set, then notifies. No retries: an
 * error (a deadlock among them) fails the test.
 */
async function applyInTransaction(
  projection: Projection,
  partition: number,
  events: RecordedEvent[],
  options: { beforeCommit?: () => Promise<void> } = {},
): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const current = await client.query<{ position: number }>(
      `SELECT position FROM refract.projection_checkpoints
       WHERE projection = $1 AND version = $2 AND partition = $3`,
      [projection.name, projection.version, partition],
    );
    const expected = current.rows[0]!.position;
    const sql: SqlExecutor = {
      query: (text, values) => client.query(text as never, values) as never,
    };
    const ctx = batchContext(sql, projection, projection.version, partition);
    const handled = events.filter((e) => projection.handles.includes(e.type));
    if (handled.length > 0) await projection.applyBatch(handled, ctx);
    const last = events.at(-1)!.position;
    const moved = await client.query(
      `UPDATE refract.projection_checkpoints SET position = $4, updated_at = now()
       WHERE projection = $1 AND version = $2 AND partition = $3 AND position = $5`,
      [projection.name, projection.version, partition, last, expected],
    );
    if (moved.rowCount !== 1) throw new Error('checkpoint moved under us');
    await client.query('SELECT pg_notify($1, $2)', [
      'refract_checkpoints',
      `${projection.name}:${projection.version}:${partition}:${last}`,
    ]);
    await options.beforeCommit?.();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/**
 * Splits each partition's events into batches of random sizes (1..maxBatch)
 * and applies them in order, every partition at once and each projection on
 * its own, like a worker pool would.
 */
async function runAll(
  events: readonly RecordedEvent[],
  seed: number,
  maxBatch: number,
): Promise<void> {
  const byPartition = new Map<number, RecordedEvent[]>();
  for (const e of events) {
    const list = byPartition.get(e.partition) ?? [];
    list.push(e);
    byPartition.set(e.partition, list);
  }
  const rng = seededRandom(seed);
  const work: Promise<void>[] = [];
  for (const projection of orderProjections) {
    for (const [partition, list] of byPartition) {
      const batches: RecordedEvent[][] = [];
      for (let taken = 0; taken < list.length; ) {
        const size = Math.min(rng.int(1, maxBatch), list.length - taken);
        batches.push(list.slice(taken, taken + size));
        taken += size;
      }
      work.push(
        (async () => {
          for (const batch of batches) await applyInTransaction(projection, partition, batch);
        })(),
      );
    }
  }
  await Promise.all(work);
}

interface SummaryRow {
  order_id: string;
  customer_id: string;
  status: string;
  item_count: number;
  total_cents: number;
  placed_at: Date;
  position: number;
}

interface StatsRow {
  customer_id: string;
  orders_placed: number;
  orders_shipped: number;
  orders_cancelled: number;
  lifetime_value_cents: number;
}

/** Both views compared with the independent in-memory fold: every row, every cent. */
async function expectReadModelsOf(workload: readonly WorkloadEvent[]): Promise<void> {
  const expected = expectedReadModels(workload);
  const lastPosition = new Map<string, number>();
  for (const item of workload) {
    lastPosition.set(item.event.data.orderId, positionOf(item.index));
  }

  const orders = await pool.query<SummaryRow>('SELECT * FROM projections.order_summary');
  const actualOrders = new Map(
    orders.rows.map((row) => [
      row.order_id,
      {
        orderId: row.order_id,
        customerId: row.customer_id,
        status: row.status,
        itemCount: row.item_count,
        totalCents: row.total_cents,
        placedAt: row.placed_at.toISOString(),
        position: row.position,
      },
    ]),
  );
  const expectedOrders = new Map(
    [...expected.orders].map(([id, order]) => [id, { ...order, position: lastPosition.get(id)! }]),
  );
  expect(actualOrders.size).toBe(expectedOrders.size);
  expect(actualOrders).toEqual(expectedOrders);

  const stats = await pool.query<StatsRow>('SELECT * FROM projections.customer_stats');
  const actualCustomers = new Map(
    stats.rows.map((row) => [
      row.customer_id,
      {
        customerId: row.customer_id,
        ordersPlaced: row.orders_placed,
        ordersShipped: row.orders_shipped,
        ordersCancelled: row.orders_cancelled,
        lifetimeValueCents: row.lifetime_value_cents,
      },
    ]),
  );
  expect(actualCustomers.size).toBe(expected.customers.size);
  expect(actualCustomers).toEqual(expected.customers);

  // The helper table holds exactly the orders still open.
  const open = await pool.query<{ order_id: string; customer_id: string; total_cents: number }>(
    `SELECT order_id, customer_id, total_cents FROM ${versionedTable('customer_stats_orders', 1)}`,
  );
  const expectedOpen = [...expected.orders.values()]
    .filter((order) => order.status === 'placed')
    .map((order) => ({
      order_id: order.orderId,
      customer_id: order.customerId,
      total_cents: order.totalCents,
    }));
  const byId = (a: { order_id: string }, b: { order_id: string }) =>
    a.order_id < b.order_id ? -1 : 1;
  expect(open.rows.sort(byId)).toEqual(expectedOpen.sort(byId));
}

describe('order_summary and customer_stats', () => {
  it('declare their tables, pool, version and the four order events', () => {
    expect(orderProjections.map((p) => p.name)).toEqual([
      orderSummaryProjection.name,
      customerStatsProjection.name,
    ]);
    for (const projection of orderProjections) {
      expect(projection).toMatchObject({ version: 1, pool: 'orders' });
      expect([...projection.handles].sort()).toEqual([
        'ItemAdded',
        'OrderCancelled',
        'OrderPlaced',
        'OrderShipped',
      ]);
    }
    expect(orderSummaryProjection.tables).toEqual(['order_summary']);
    expect(customerStatsProjection.tables).toEqual(['customer_stats', 'customer_stats_orders']);
  });

  it('match the in-memory fold exactly after 20,000 events in random batches, all partitions at once', async () => {
    const workload = [...generateWorkload({ events: EVENTS, seed: 7 })];
    const events = workload.map(recorded);
    // Half way, many orders are still open: their rows and the helper table are checked too.
    const half = EVENTS / 2;
    await runAll(events.slice(0, half), 1, 300);
    await expectReadModelsOf(workload.slice(0, half));
    await runAll(events.slice(half), 2, 300);
    await expectReadModelsOf(workload);

    const customers = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM projections.customer_stats',
    );
    expect(customers.rows[0]!.n).toBeGreaterThan(500);
  });

  it('give the same read models with one event per batch and with whole partitions per batch', async () => {
    const workload = [...generateWorkload({ events: 2_000, seed: 11 })];
    const events = workload.map(recorded);
    await runAll(events, 3, 1);
    await expectReadModelsOf(workload);

    await pool.query('DROP SCHEMA projections CASCADE; CREATE SCHEMA projections');
    await pool.query('TRUNCATE refract.projections, refract.projection_checkpoints');
    for (const projection of orderProjections) {
      await registerProjection(pool, projection, PARTITIONS);
    }
    await runAll(events, 4, 100_000);
    await expectReadModelsOf(workload);
  });

  it('never deadlock when concurrent batches touch the same customers in opposite orders', async () => {
    const customers = Array.from({ length: 200 }, (_, i) => `c-${String(i).padStart(3, '0')}`);
    const rounds = 15;
    let position = 0;
    // Each round: every partition gets one batch placing and shipping one
    // order per customer, half of them in ascending, half in descending
    // customer order, and a shuffled one; all run concurrently.
    for (let round = 0; round < rounds; round++) {
      const batches = Array.from({ length: PARTITIONS }, (_, partition) => {
        const order =
          partition % 3 === 0
            ? customers
            : partition % 3 === 1
              ? [...customers].reverse()
              : shuffled(customers, round * 100 + partition);
        const batch: RecordedEvent[] = [];
        for (const customerId of order) {
          const orderId = `r${round}-p${partition}-${customerId}`;
          batch.push(
            event(++position, partition, {
              type: 'OrderPlaced',
              data: { orderId, customerId, placedAt: '2024-01-01T00:00:00.000Z' },
            }),
          );
        }
        for (const customerId of order) {
          const orderId = `r${round}-p${partition}-${customerId}`;
          batch.push(
            event(++position, partition, {
              type: 'ItemAdded',
              data: { orderId, sku: 'sku-1', qty: 1, unitPrice: '0.01' },
            }),
            event(++position, partition, {
              type: 'OrderShipped',
              data: { orderId, trackingNumber: 'T' },
            }),
          );
        }
        return { partition, batch };
      });
      await Promise.all(
        batches.map(({ partition, batch }) =>
          applyInTransaction(customerStatsProjection, partition, batch),
        ),
      );
    }
    const stats = await pool.query<StatsRow>(
      'SELECT * FROM projections.customer_stats ORDER BY customer_id',
    );
    expect(stats.rows).toHaveLength(customers.length);
    for (const row of stats.rows) {
      expect(row).toMatchObject({
        orders_placed: rounds * PARTITIONS,
        orders_shipped: rounds * PARTITIONS,
        orders_cancelled: 0,
        lifetime_value_cents: rounds * PARTITIONS,
      });
    }
  });

  it('make a concurrent batch wait for a customer row instead of failing', async () => {
    // One batch holds its transaction open after writing customer-x; another
    // partition's batch for the same customer waits, then adds on top.
    const placed = (position: number, partition: number, orderId: string) =>
      event(position, partition, {
        type: 'OrderPlaced',
        data: { orderId, customerId: 'customer-x', placedAt: '2024-01-01T00:00:00.000Z' },
      });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let atCommit!: () => void;
    const written = new Promise<void>((resolve) => {
      atCommit = resolve;
    });
    const first = applyInTransaction(customerStatsProjection, 0, [placed(1, 0, 'a')], {
      beforeCommit: () => {
        atCommit();
        return held;
      },
    });
    await written;
    let secondDone = false;
    const second = applyInTransaction(customerStatsProjection, 1, [placed(3, 1, 'b')]).then(() => {
      secondDone = true;
    });
    try {
      // The second session is seen waiting on a lock: it had its chance to fail.
      await eventually(async () => {
        const waiting = await pool.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(waiting.rowCount).toBe(1);
      });
      expect(secondDone).toBe(false);
    } finally {
      // Never left open: the next test's reset would wait on it for ever.
      release();
      await Promise.allSettled([first, second]);
    }
    await Promise.all([first, second]);
    const row = await pool.query<StatsRow>(
      `SELECT * FROM projections.customer_stats WHERE customer_id = 'customer-x'`,
    );
    expect(row.rows[0]).toMatchObject({ orders_placed: 2 });
  });

  it('refuse events of orders never placed, placed twice or already closed, writing nothing', async () => {
    const placedA = event(1, 0, {
      type: 'OrderPlaced',
      data: { orderId: 'a', customerId: 'c1', placedAt: '2024-01-01T00:00:00.000Z' },
    });
    for (const projection of orderProjections) {
      await applyInTransaction(projection, 0, [placedA]);
    }
    const cases: RecordedEvent[][] = [
      // An item for an order nobody placed.
      [
        event(3, 0, {
          type: 'ItemAdded',
          data: { orderId: 'x', sku: 's', qty: 1, unitPrice: '1.00' },
        }),
      ],
      // Placed again in a later batch.
      [
        event(3, 0, {
          type: 'OrderPlaced',
          data: { orderId: 'a', customerId: 'c2', placedAt: '2024-01-01T00:00:00.000Z' },
        }),
      ],
      // Placed twice within one batch.
      [
        event(3, 0, {
          type: 'OrderPlaced',
          data: { orderId: 'b', customerId: 'c2', placedAt: '2024-01-01T00:00:00.000Z' },
        }),
        event(5, 0, {
          type: 'OrderPlaced',
          data: { orderId: 'b', customerId: 'c2', placedAt: '2024-01-01T00:00:00.000Z' },
        }),
      ],
      // An item after the order was shipped, in the same batch.
      [
        event(3, 0, { type: 'OrderShipped', data: { orderId: 'a', trackingNumber: 'T' } }),
        event(5, 0, {
          type: 'ItemAdded',
          data: { orderId: 'a', sku: 's', qty: 1, unitPrice: '1.00' },
        }),
      ],
    ];
    for (const batch of cases) {
      for (const projection of orderProjections) {
        await expect(applyInTransaction(projection, 0, batch)).rejects.toThrow();
      }
    }
    // Those refused by the fold in memory name the event (the projector then
    // parks it without searching the batch for it).
    for (const batch of cases.slice(2)) {
      for (const projection of orderProjections) {
        await expect(applyInTransaction(projection, 0, batch)).rejects.toMatchObject({
          name: 'EventRefusedError',
          position: 5,
        });
      }
    }
    // Closed in one batch, then another event in the next: refused as well.
    for (const projection of orderProjections) {
      await applyInTransaction(projection, 0, [
        event(3, 0, { type: 'OrderCancelled', data: { orderId: 'a', reason: 'r' } }),
      ]);
      await expect(
        applyInTransaction(projection, 0, [
          event(5, 0, { type: 'OrderShipped', data: { orderId: 'a', trackingNumber: 'T' } }),
        ]),
      ).rejects.toThrow(/unknown or already closed/);
    }
    expect(expectedRows(await pool.query('SELECT * FROM projections.order_summary'))).toEqual([
      { order_id: 'a', customer_id: 'c1', status: 'cancelled', item_count: 0, total_cents: 0 },
    ]);
    const stats = await pool.query('SELECT * FROM projections.customer_stats');
    expect(stats.rows).toEqual([
      {
        customer_id: 'c1',
        orders_placed: 1,
        orders_shipped: 0,
        orders_cancelled: 1,
        lifetime_value_cents: 0,
      },
    ]);
  });
});

function expectedRows(result: pg.QueryResult): Record<string, unknown>[] {
  return result.rows.map(({ placed_at: _, position: __, ...rest }) => rest);
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const rng = seededRandom(seed);
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
