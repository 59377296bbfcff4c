import { expectedReadModels, type OrderEvent } from '@refract/example-orders';
import type { Acknowledged } from './load-generator.js';
import type { Pool } from './pool.js';
import { SQL } from './sql.js';

export interface StoredEvent {
  position: number;
  event_id: string;
  stream_id: string;
  version: number;
  type: OrderEvent['type'];
  data: OrderEvent['data'];
}

/** At most this many differences are listed; the count says how many there were. */
const SHOWN = 10;

function summary(problems: string[]): string[] {
  if (problems.length <= SHOWN) return problems;
  return [...problems.slice(0, SHOWN), `… and ${problems.length - SHOWN} more`];
}

export async function readLog(pool: Pool): Promise<StoredEvent[]> {
  return (await pool.query<StoredEvent>(SQL.readLog)).rows;
}

/**
 * Every acknowledged append is stored under its id, in its stream, at the
 * version it was sent with and the position it was answered with; and
 * nothing is stored that was never acknowledged (every append was retried
 * until it was).
 */
export function compareWithAcknowledged(stored: StoredEvent[], acked: Acknowledged[]): string[] {
  const problems: string[] = [];
  const byId = new Map(stored.map((event) => [event.event_id, event]));
  const ackedIds = new Set<string>();
  for (const ack of acked) {
    if (ackedIds.has(ack.eventId)) problems.push(`${ack.eventId} acknowledged twice`);
    ackedIds.add(ack.eventId);
    const event = byId.get(ack.eventId);
    if (!event) {
      problems.push(
        `${ack.streamId}@${ack.version} (${ack.eventId}, position ${ack.position}) is not stored`,
      );
    } else if (
      event.position !== ack.position ||
      event.stream_id !== ack.streamId ||
      event.version !== ack.version
    ) {
      problems.push(
        `${ack.eventId} acknowledged as ${ack.streamId}@${ack.version} position ${ack.position}, stored as ${event.stream_id}@${event.version} position ${event.position}`,
      );
    }
  }
  for (const event of stored) {
    if (!ackedIds.has(event.event_id)) {
      problems.push(
        `${event.stream_id}@${event.version} (${event.event_id}) stored but never acknowledged`,
      );
    }
  }
  return summary(problems);
}

/**
 * Both read models against the fold of the stored log, row by row:
 * order_summary (with the position of each order's last stored event) and
 * customer_stats, which increments, so an event applied twice or lost shows.
 */
export async function compareReadModels(pool: Pool, stored: StoredEvent[]): Promise<string[]> {
  const want = expectedReadModels(stored.map(({ type, data }) => ({ type, data }) as OrderEvent));
  const lastPosition = new Map<string, number>();
  for (const event of stored) lastPosition.set(event.data.orderId, event.position);
  const problems: string[] = [];

  const orders = await pool.query<{
    order_id: string;
    customer_id: string;
    status: string;
    item_count: number;
    total_cents: string;
    position: number;
  }>(SQL.readOrderSummary);
  const seenOrders = new Set<string>();
  for (const row of orders.rows) {
    seenOrders.add(row.order_id);
    const o = want.orders.get(row.order_id);
    const got = `${row.customer_id} ${row.status} items=${row.item_count} total=${row.total_cents} at ${row.position}`;
    if (!o) {
      problems.push(`order_summary has order ${row.order_id} (${got}), which the log does not`);
      continue;
    }
    const expected = `${o.customerId} ${o.status} items=${o.itemCount} total=${o.totalCents} at ${lastPosition.get(row.order_id)}`;
    if (got !== expected) problems.push(`order ${row.order_id}: ${got}, the log says ${expected}`);
  }
  for (const orderId of want.orders.keys()) {
    if (!seenOrders.has(orderId)) problems.push(`order_summary lacks order ${orderId}`);
  }

  const customers = await pool.query<{
    customer_id: string;
    orders_placed: number;
    orders_shipped: number;
    orders_cancelled: number;
    lifetime_value_cents: string;
  }>(SQL.readCustomerStats);
  const seenCustomers = new Set<string>();
  for (const row of customers.rows) {
    seenCustomers.add(row.customer_id);
    const c = want.customers.get(row.customer_id);
    const got = `placed=${row.orders_placed} shipped=${row.orders_shipped} cancelled=${row.orders_cancelled} value=${row.lifetime_value_cents}`;
    if (!c) {
      problems.push(`customer_stats has ${row.customer_id} (${got}), which the log does not`);
      continue;
    }
    const expected = `placed=${c.ordersPlaced} shipped=${c.ordersShipped} cancelled=${c.ordersCancelled} value=${c.lifetimeValueCents}`;
    if (got !== expected) problems.push(`${row.customer_id}: ${got}, the log says ${expected}`);
  }
  for (const customerId of want.customers.keys()) {
    if (!seenCustomers.has(customerId)) problems.push(`customer_stats lacks ${customerId}`);
  }
  return summary(problems);
}

export async function countParked(pool: Pool): Promise<number> {
  return (await pool.query<{ parked: number }>(SQL.countParked)).rows[0]!.parked;
}
