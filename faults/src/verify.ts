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
 * Both read models against the fold of `events` (the good part of the
 * stored log), row by row:
 * order_summary (with the position of each order's last stored event) and
 * customer_stats, which increments, so an event applied twice or lost shows.
 */
export async function compareReadModels(
  pool: Pool,
  stored: readonly StoredEvent[],
): Promise<string[]> {
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

/** The projections the suite runs; each parks and quarantines on its own. */
const PROJECTIONS = ['order_summary', 'customer_stats'] as const;

/** A poison event: an ItemAdded whose unitPrice is not the decimal string its schema wants. */
function isPoison(event: StoredEvent): boolean {
  return (
    event.type === 'ItemAdded' &&
    typeof (event.data as { unitPrice: unknown }).unitPrice !== 'string'
  );
}

export interface SplitLog {
  /** Events the read models must hold: each stream up to (excluding) its first poison event. */
  good: StoredEvent[];
  /** The first poison event of each stream that has one. */
  heads: StoredEvent[];
  /** Later events of those streams, each with the position of its stream's head. */
  behind: { event: StoredEvent; head: number }[];
}

/**
 * Splits the stored log the way quarantine must: a stream's first poison
 * event is parked, every later event of that stream is parked behind it
 * (poison or not), and the rest is applied.
 */
export function splitLog(stored: readonly StoredEvent[]): SplitLog {
  const split: SplitLog = { good: [], heads: [], behind: [] };
  const headOf = new Map<string, number>();
  for (const event of stored) {
    const head = headOf.get(event.stream_id);
    if (head !== undefined) split.behind.push({ event, head });
    else if (isPoison(event)) {
      headOf.set(event.stream_id, event.position);
      split.heads.push(event);
    } else split.good.push(event);
  }
  return split;
}

/**
 * The open parked events of each projection's live version against what
 * quarantine must have parked: every head (behind nothing) and every event
 * behind one (behind its head), nothing else, in both projections.
 */
export async function compareParked(pool: Pool, split: SplitLog): Promise<string[]> {
  const want = new Set<string>();
  for (const projection of PROJECTIONS) {
    for (const e of split.heads) want.add(`${projection} ${e.stream_id}@${e.position} behind -`);
    for (const { event: e, head } of split.behind) {
      want.add(`${projection} ${e.stream_id}@${e.position} behind ${head}`);
    }
  }
  const rows = await pool.query<{
    projection: string;
    position: number;
    stream_id: string;
    behind: number | null;
  }>(SQL.readOpenParked);
  const problems: string[] = [];
  for (const row of rows.rows) {
    const got = `${row.projection} ${row.stream_id}@${row.position} behind ${row.behind ?? '-'}`;
    if (!want.delete(got)) problems.push(`parked but not expected: ${got}`);
  }
  for (const missing of want) problems.push(`not parked: ${missing}`);
  return summary(problems);
}

/** Projections the breaker tripped, as `name: reason`. */
export async function readTripped(pool: Pool): Promise<string[]> {
  const rows = await pool.query<{ name: string; trip_reason: string | null }>(SQL.readTripped);
  return rows.rows.map((row) => `${row.name}: ${row.trip_reason}`);
}
