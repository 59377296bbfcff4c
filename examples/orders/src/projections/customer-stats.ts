import { defineProjection, foldEach, type ProjectionContext, type Recorded } from '@refract/core';
import { ORDER_EVENT_TYPES, type OrderEvent } from '../events.js';
import { parseMoney } from '../money.js';

const OPEN = 0;
const SHIPPED = 1;
const CANCELLED = 2;

/** What one batch does to one order, as far as its customer's stats care. */
interface OrderDelta {
  orderId: string;
  /** The customer, when the batch holds the order's OrderPlaced. */
  placedBy: string | null;
  /** Sum of qty × unitPrice of the batch's ItemAdded events, in cents. */
  itemsCents: number;
  outcome: typeof OPEN | typeof SHIPPED | typeof CANCELLED;
}

/** Folds a batch into one delta per order; refuses sequences no valid order stream produces. */
export function foldCustomerDeltas(
  events: readonly Recorded<OrderEvent>[],
): Map<string, OrderDelta> {
  const deltas = new Map<string, OrderDelta>();
  // Names a refused event: the projector then parks it without searching the batch.
  foldEach(events, (event) => foldCustomerEvent(deltas, event));
  return deltas;
}

function foldCustomerEvent(deltas: Map<string, OrderDelta>, event: Recorded<OrderEvent>): void {
  const { orderId } = event.data;
  let delta = deltas.get(orderId);
  if (event.type === 'OrderPlaced') {
    if (delta) throw new Error(`order ${orderId} placed twice (position ${event.position})`);
    deltas.set(orderId, {
      orderId,
      placedBy: event.data.customerId,
      itemsCents: 0,
      outcome: OPEN,
    });
    return;
  }
  if (!delta) {
    delta = { orderId, placedBy: null, itemsCents: 0, outcome: OPEN };
    deltas.set(orderId, delta);
  }
  if (delta.outcome !== OPEN) {
    throw new Error(
      `${event.type} for order ${orderId} after it was closed (position ${event.position})`,
    );
  }
  switch (event.type) {
    case 'ItemAdded':
      delta.itemsCents += event.data.qty * parseMoney(event.data.unitPrice);
      break;
    case 'OrderShipped':
      delta.outcome = SHIPPED;
      break;
    case 'OrderCancelled':
      delta.outcome = CANCELLED;
      break;
  }
}

/**
 * One statement per batch.
 *
 * `customer_stats_orders` holds the orders still open: their customer and
 * running total, which later batches need (an order's events span batches,
 * and the projection reads no other projection's tables). A closed order's
 * row is deleted, so the table stays as small as the set of open orders.
 *
 * The `customer_stats` upsert is an increment, not idempotent: it relies on
 * the runtime applying each batch exactly once. Batches of different
 * partitions run concurrently and share customers, so rows are locked in
 * customer_id order (ORDER BY in the INSERT … SELECT): two batches then wait
 * for each other instead of deadlocking. Customers whose counts do not change
 * (orders that only gained items) are not touched at all.
 *
 * `unknown` lists orders the batch speaks of that were never placed (or are
 * already closed); `replaced` lists orders placed again while still open.
 * Either fails the batch.
 */
function applySql(orders: string, stats: string): string {
  return `
WITH batch AS (
  SELECT *
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::smallint[])
    AS b(order_id, placed_by, items_cents, outcome)
),
merged AS (
  SELECT b.order_id,
         coalesce(b.placed_by, o.customer_id) AS customer_id,
         b.placed_by IS NOT NULL AS placed,
         b.placed_by IS NOT NULL AND o.order_id IS NOT NULL AS replaced,
         coalesce(o.total_cents, 0) + b.items_cents AS total_cents,
         b.outcome
  FROM batch AS b
  LEFT JOIN ${orders} AS o ON o.order_id = b.order_id
),
kept AS (
  INSERT INTO ${orders} (order_id, customer_id, total_cents)
  SELECT order_id, customer_id, total_cents
  FROM merged
  WHERE outcome = ${OPEN} AND customer_id IS NOT NULL
  ORDER BY order_id
  ON CONFLICT (order_id) DO UPDATE SET total_cents = EXCLUDED.total_cents
),
closed AS (
  DELETE FROM ${orders} AS o
  USING merged AS m
  WHERE o.order_id = m.order_id AND m.outcome <> ${OPEN}
),
counted AS (
  INSERT INTO ${stats} AS s
    (customer_id, orders_placed, orders_shipped, orders_cancelled, lifetime_value_cents)
  SELECT customer_id,
         count(*) FILTER (WHERE placed),
         count(*) FILTER (WHERE outcome = ${SHIPPED}),
         count(*) FILTER (WHERE outcome = ${CANCELLED}),
         coalesce(sum(total_cents) FILTER (WHERE outcome = ${SHIPPED}), 0)
  FROM merged
  WHERE customer_id IS NOT NULL AND (placed OR outcome <> ${OPEN})
  GROUP BY customer_id
  ORDER BY customer_id
  ON CONFLICT (customer_id) DO UPDATE SET
    orders_placed = s.orders_placed + EXCLUDED.orders_placed,
    orders_shipped = s.orders_shipped + EXCLUDED.orders_shipped,
    orders_cancelled = s.orders_cancelled + EXCLUDED.orders_cancelled,
    lifetime_value_cents = s.lifetime_value_cents + EXCLUDED.lifetime_value_cents
)
SELECT array_agg(order_id) FILTER (WHERE customer_id IS NULL) AS unknown,
       array_agg(order_id) FILTER (WHERE replaced) AS replaced
FROM merged`;
}

async function applyCustomerStats(
  events: Recorded<OrderEvent>[],
  ctx: ProjectionContext,
): Promise<void> {
  const deltas = foldCustomerDeltas(events);
  if (deltas.size === 0) return;
  const orderIds: string[] = [];
  const placedBy: (string | null)[] = [];
  const itemsCents: number[] = [];
  const outcomes: number[] = [];
  for (const delta of deltas.values()) {
    orderIds.push(delta.orderId);
    placedBy.push(delta.placedBy);
    itemsCents.push(delta.itemsCents);
    outcomes.push(delta.outcome);
  }
  const stats = ctx.table('customer_stats');
  const result = await ctx.sql.query<{ unknown: string[] | null; replaced: string[] | null }>({
    name: `customer-stats-apply:${stats}`,
    text: applySql(ctx.table('customer_stats_orders'), stats),
    values: [orderIds, placedBy, itemsCents, outcomes],
  });
  const { unknown, replaced } = result.rows[0] ?? { unknown: null, replaced: null };
  if (unknown && unknown.length > 0) {
    throw new Error(
      `events for orders that are unknown or already closed: ${unknown.slice(0, 10).join(', ')}`,
    );
  }
  if (replaced && replaced.length > 0) {
    throw new Error(`orders placed twice: ${replaced.slice(0, 10).join(', ')}`);
  }
}

/**
 * `customer_stats`: one row per customer with at least one order. Lifetime
 * value is the sum of shipped orders' totals, in integer cents
 * (`lifetime_value_cents`). Its helper table `customer_stats_orders` maps
 * open orders to their customer and total.
 */
export const customerStatsProjection = defineProjection<OrderEvent>({
  name: 'customer_stats',
  version: 1,
  // One statement per batch, rows locked in key order: safe across partitions.
  crossPartitionBatches: true,
  handles: ORDER_EVENT_TYPES,
  tables: ['customer_stats', 'customer_stats_orders'],
  // Verified cutover: every column of both tables, the helper table included
  // (a wrong open-order total shows there before it reaches a lifetime value).
  compare: {
    customer_stats: { key: ['customer_id'] },
    customer_stats_orders: { key: ['order_id'] },
  },
  setup: (table) => `
CREATE TABLE IF NOT EXISTS ${table('customer_stats')} (
  customer_id          text PRIMARY KEY,
  orders_placed        integer NOT NULL,
  orders_shipped       integer NOT NULL,
  orders_cancelled     integer NOT NULL,
  lifetime_value_cents bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS ${table('customer_stats_orders')} (
  order_id    text PRIMARY KEY,
  customer_id text NOT NULL,
  total_cents bigint NOT NULL
);`,
  applyBatch: applyCustomerStats,
});
