import { DependencyUnavailableError, type SqlExecutor } from '@refract/core';

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
  db: SqlExecutor,
  orderId: string,
): Promise<OrderSummaryView | undefined> {
  const result = await db
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
  db: SqlExecutor,
  customerId: string,
): Promise<CustomerStatsView | undefined> {
  const result = await db
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
