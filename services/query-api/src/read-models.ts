import { DependencyUnavailableError } from '@refract/core';
import type pg from 'pg';
import type { PartitionTarget } from './checkpoints.js';

/** The `order_summary` row as the API answers it. */
export interface OrderSummaryView {
  orderId: string;
  customerId: string;
  status: 'placed' | 'shipped' | 'cancelled';
  itemCount: number;
  /** Decimal string with two places. */
  total: string;
  placedAt: string;
  /** Global position of the last event applied to the order. */
  position: number;
}

/** The `customer_stats` row as the API answers it. */
export interface CustomerStatsView {
  customerId: string;
  ordersPlaced: number;
  ordersShipped: number;
  ordersCancelled: number;
  /** Decimal string with two places: the sum of shipped orders' totals. */
  lifetimeValue: string;
}

/**
 * Integer cents, as the decimal text Postgres gives for a bigint, to a
 * two-place decimal string: `"12345"` → `"123.45"`, `"5"` → `"0.05"`. Works on
 * the text so no amount ever passes through a float or loses a digit.
 */
export function centsToDecimal(cents: string): string {
  const match = /^(-?)(\d+)$/.exec(cents);
  if (!match) throw new RangeError(`not an integer amount of cents: ${cents}`);
  const digits = match[2]!.replace(/^0+(?=\d)/, '').padStart(3, '0');
  return `${match[1]}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** A read of a projection view that is not there yet (no worker registered it) is a missing dependency. */
function viewMissing(error: unknown, projection: string): never {
  if ((error as { code?: unknown } | null)?.code === '42P01') {
    throw new DependencyUnavailableError(`projection ${projection}`, error);
  }
  throw error;
}

export async function readOrderSummary(
  pool: pg.Pool,
  orderId: string,
): Promise<OrderSummaryView | undefined> {
  const result = await pool
    .query<{
      order_id: string;
      customer_id: string;
      status: OrderSummaryView['status'];
      item_count: number;
      total_cents: string;
      placed_at: Date;
      position: string;
    }>(
      `SELECT order_id, customer_id, status, item_count, total_cents::text AS total_cents,
              placed_at, position::text AS position
       FROM projections.order_summary WHERE order_id = $1`,
      [orderId],
    )
    .catch((error: unknown) => viewMissing(error, 'order_summary'));
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    status: row.status,
    itemCount: row.item_count,
    total: centsToDecimal(row.total_cents),
    placedAt: row.placed_at.toISOString(),
    position: Number(row.position),
  };
}

export async function readCustomerStats(
  pool: pg.Pool,
  customerId: string,
): Promise<CustomerStatsView | undefined> {
  const result = await pool
    .query<{
      customer_id: string;
      orders_placed: number;
      orders_shipped: number;
      orders_cancelled: number;
      lifetime_value_cents: string;
    }>(
      `SELECT customer_id, orders_placed, orders_shipped, orders_cancelled,
              lifetime_value_cents::text AS lifetime_value_cents
       FROM projections.customer_stats WHERE customer_id = $1`,
      [customerId],
    )
    .catch((error: unknown) => viewMissing(error, 'customer_stats'));
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    customerId: row.customer_id,
    ordersPlaced: row.orders_placed,
    ordersShipped: row.orders_shipped,
    ordersCancelled: row.orders_cancelled,
    lifetimeValue: centsToDecimal(row.lifetime_value_cents),
  };
}

/**
 * What "applied every event of this stream up to minPosition" asks of the
 * stream's partition: its checkpoint must reach the stream's last event at or
 * below minPosition. Waiting for minPosition itself could last forever, since
 * a partition's checkpoint only moves when that partition has events.
 * Appends to one stream are serialised, so once a client holds a position of
 * the stream, every earlier event of the stream is committed and counted.
 */
export async function streamTarget(
  pool: pg.Pool,
  streamId: string,
  partition: number,
  minPosition: number,
): Promise<PartitionTarget> {
  const result = await pool.query<{ target: string }>(
    `SELECT coalesce(max(position), 0)::text AS target
     FROM refract.events WHERE stream_id = $1 AND position <= $2`,
    [streamId, minPosition],
  );
  return { partition, position: Number(result.rows[0]?.target ?? 0) };
}

/**
 * The same for a read model fed by every partition: each partition's
 * checkpoint must reach that partition's last event at or below minPosition
 * (partitions with none are not waited for). One index probe per partition.
 */
export async function partitionTargets(
  pool: pg.Pool,
  partitions: number,
  minPosition: number,
): Promise<PartitionTarget[]> {
  const result = await pool.query<{ partition: number; target: string }>(
    `SELECT p AS partition,
            (SELECT coalesce(max(e.position), 0) FROM refract.events AS e
             WHERE e.partition = p AND e.position <= $2)::text AS target
     FROM generate_series(0, $1::int - 1) AS p`,
    [partitions, minPosition],
  );
  return result.rows.map((row) => ({ partition: row.partition, position: Number(row.target) }));
}
