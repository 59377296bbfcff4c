import { defineProjection, foldEach, type ProjectionContext, type Recorded } from '@refract/core';
import { ORDER_EVENT_TYPES, type OrderEvent } from '../events.js';
import { parseMoney } from '../money.js';

/**
 * What one batch does to one order. `placed` orders get a whole new row; the
 * others carry deltas onto the row an earlier batch wrote.
 */
interface OrderChange {
  orderId: string;
  /** Set when the batch holds the order's OrderPlaced. */
  placed: { customerId: string; placedAt: string } | null;
  /** The terminal status reached in this batch, if any. */
  status: 'shipped' | 'cancelled' | null;
  itemCount: number;
  totalCents: number;
  /** Global position of the order's last event in the batch. */
  position: number;
}

/**
 * Folds a batch into one change per order, in memory. Sequences no valid
 * order stream produces are refused (the error parks the event) rather than
 * folded into a wrong row.
 */
export function foldOrderChanges(
  events: readonly Recorded<OrderEvent>[],
): Map<string, OrderChange> {
  const changes = new Map<string, OrderChange>();
  // Names a refused event: the projector then parks it without searching the batch.
  foldEach(events, (event) => foldOrderEvent(changes, event));
  return changes;
}

function foldOrderEvent(changes: Map<string, OrderChange>, event: Recorded<OrderEvent>): void {
  const { orderId } = event.data;
  let change = changes.get(orderId);
  if (event.type === 'OrderPlaced') {
    if (change) throw new Error(`order ${orderId} placed twice (position ${event.position})`);
    changes.set(orderId, {
      orderId,
      placed: { customerId: event.data.customerId, placedAt: event.data.placedAt },
      status: null,
      itemCount: 0,
      totalCents: 0,
      position: event.position,
    });
    return;
  }
  if (!change) {
    change = {
      orderId,
      placed: null,
      status: null,
      itemCount: 0,
      totalCents: 0,
      position: event.position,
    };
    changes.set(orderId, change);
  }
  if (change.status !== null) {
    throw new Error(
      `${event.type} for order ${orderId} after it was ${change.status} (position ${event.position})`,
    );
  }
  switch (event.type) {
    case 'ItemAdded':
      change.itemCount += 1;
      change.totalCents += event.data.qty * parseMoney(event.data.unitPrice);
      break;
    case 'OrderShipped':
      change.status = 'shipped';
      break;
    case 'OrderCancelled':
      change.status = 'cancelled';
      break;
  }
  change.position = event.position;
}

/**
 * One statement per batch. New orders are inserted whole (a second
 * OrderPlaced breaks the primary key and fails the batch); the others get
 * their deltas added, but only while still `placed`: an event for an order
 * that is unknown or already closed comes back in `refused` and fails the
 * batch. Rows are written in order_id order; each order belongs to one
 * partition, so batches of different partitions never touch the same row.
 */
function upsertSql(table: string): string {
  return `
WITH batch AS (
  SELECT *
  FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::integer[], $6::bigint[], $7::bigint[])
    AS b(order_id, customer_id, placed_at, status, item_count, total_cents, position)
),
inserted AS (
  INSERT INTO ${table} (order_id, customer_id, status, item_count, total_cents, placed_at, position)
  SELECT order_id, customer_id, coalesce(status, 'placed'), item_count, total_cents, placed_at, position
  FROM batch
  WHERE customer_id IS NOT NULL
  ORDER BY order_id
),
updated AS (
  UPDATE ${table} AS t
  SET status = coalesce(b.status, t.status),
      item_count = t.item_count + b.item_count,
      total_cents = t.total_cents + b.total_cents,
      position = b.position
  FROM batch AS b
  WHERE b.customer_id IS NULL AND t.order_id = b.order_id AND t.status = 'placed'
  RETURNING t.order_id
)
SELECT array_agg(b.order_id) AS refused
FROM batch AS b
WHERE b.customer_id IS NULL AND b.order_id NOT IN (SELECT order_id FROM updated)`;
}

async function applyOrderSummary(
  events: Recorded<OrderEvent>[],
  ctx: ProjectionContext,
): Promise<void> {
  const changes = foldOrderChanges(events);
  if (changes.size === 0) return;
  const orderIds: string[] = [];
  const customerIds: (string | null)[] = [];
  const placedAts: (string | null)[] = [];
  const statuses: (string | null)[] = [];
  const itemCounts: number[] = [];
  const totals: number[] = [];
  const positions: number[] = [];
  for (const change of changes.values()) {
    orderIds.push(change.orderId);
    customerIds.push(change.placed?.customerId ?? null);
    placedAts.push(change.placed?.placedAt ?? null);
    statuses.push(change.status);
    itemCounts.push(change.itemCount);
    totals.push(change.totalCents);
    positions.push(change.position);
  }
  const table = ctx.table('order_summary');
  const result = await ctx.sql.query<{ refused: string[] | null }>({
    name: `order-summary-upsert:${table}`,
    text: upsertSql(table),
    values: [orderIds, customerIds, placedAts, statuses, itemCounts, totals, positions],
  });
  const refused = result.rows[0]?.refused;
  if (refused && refused.length > 0) {
    throw new Error(
      `events for orders that are unknown or already closed: ${refused.slice(0, 10).join(', ')}`,
    );
  }
}

/**
 * `order_summary`: one row per order. Money is integer cents
 * (`total_cents`), exact; query-api writes it as `"123.45"`. `position` is
 * the global position of the last event applied to the order.
 */
export const orderSummaryProjection = defineProjection<OrderEvent>({
  name: 'order_summary',
  version: 1,
  // One statement per batch, rows locked in key order: safe across partitions.
  crossPartitionBatches: true,
  handles: ORDER_EVENT_TYPES,
  tables: ['order_summary'],
  // Verified cutover: what readers see of an order is compared; `position`
  // records which event was applied last, bookkeeping a rebuild may move.
  compare: {
    order_summary: {
      key: ['order_id'],
      columns: ['customer_id', 'status', 'item_count', 'total_cents', 'placed_at'],
    },
  },
  setup: (table) => `
CREATE TABLE IF NOT EXISTS ${table('order_summary')} (
  order_id    text PRIMARY KEY,
  customer_id text NOT NULL,
  status      text NOT NULL CHECK (status IN ('placed', 'shipped', 'cancelled')),
  item_count  integer NOT NULL,
  total_cents bigint NOT NULL,
  placed_at   timestamptz NOT NULL,
  position    bigint NOT NULL
);`,
  applyBatch: applyOrderSummary,
});
