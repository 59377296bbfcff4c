import {
  type CustomerStats,
  type ExpectedReadModels,
  expectedReadModels,
  type OrderEvent,
  type OrderSummary,
} from '@refract/example-orders';
import type pg from 'pg';
import { VerificationError } from './event-log.js';
import { SQL } from './sql.js';
import type { BenchEvent } from './workload.js';

/** How many differences a failed check names. */
const SHOWN = 5;

/** The reference workload's fold over bench events, in the order given. */
export function foldEvents(events: Iterable<BenchEvent>): ExpectedReadModels {
  function* orderEvents(): Generator<OrderEvent> {
    for (const event of events) {
      yield { type: event.type, data: JSON.parse(event.dataJson) } as OrderEvent;
    }
  }
  return expectedReadModels(orderEvents());
}

export type ReadModelTable = 'order_summary' | 'customer_stats';
const BOTH: readonly ReadModelTable[] = ['order_summary', 'customer_stats'];

/** The rows both tables hold, as read back (money in cents, placedAt as ISO text). */
export interface ActualReadModels {
  orders: OrderSummary[];
  customers: CustomerStats[];
}

/**
 * The differences between what the tables hold and what the fold expects,
 * at most `limit` of them, each a line naming the row and the field. Empty
 * when they agree exactly (every row, every field, to the cent).
 */
export function compareReadModels(
  expected: ExpectedReadModels,
  actual: ActualReadModels,
  { limit = SHOWN, tables = BOTH }: { limit?: number; tables?: readonly ReadModelTable[] } = {},
): string[] {
  const problems: string[] = [];
  const note = (line: string) => {
    if (problems.length < limit) problems.push(line);
  };
  const compare = <T extends Record<string, unknown>>(
    table: string,
    key: keyof T & string,
    want: Map<string, T>,
    rows: readonly T[],
  ) => {
    const seen = new Set<string>();
    for (const row of rows) {
      const id = String(row[key]);
      const expectedRow = want.get(id);
      if (seen.has(id)) note(`${table} ${id}: more than one row`);
      seen.add(id);
      if (!expectedRow) {
        note(`${table} ${id}: unexpected row`);
        continue;
      }
      for (const field of Object.keys(expectedRow)) {
        if (row[field] !== expectedRow[field]) {
          note(
            `${table} ${id}: ${field} is ${JSON.stringify(row[field])}, expected ${JSON.stringify(expectedRow[field])}`,
          );
        }
      }
    }
    const missing = [...want.keys()].filter((id) => !seen.has(id));
    if (missing.length > 0) {
      note(`${table}: ${missing.length} rows missing (${missing.slice(0, SHOWN).join(', ')})`);
    }
  };
  if (tables.includes('order_summary')) {
    compare('order_summary', 'orderId', expected.orders, actual.orders);
  }
  if (tables.includes('customer_stats')) {
    compare('customer_stats', 'customerId', expected.customers, actual.customers);
  }
  return problems;
}

/** The tables through their query views (the live version); a table not asked for reads as empty. */
export async function readReadModels(
  db: pg.Pool,
  tables: readonly ReadModelTable[] = BOTH,
): Promise<ActualReadModels> {
  const orders = tables.includes('order_summary')
    ? (await db.query<OrderSummary>(SQL.readOrderSummary)).rows
    : [];
  const customers = tables.includes('customer_stats')
    ? (await db.query<CustomerStats>(SQL.readCustomerStats)).rows
    : [];
  return { orders, customers };
}

/**
 * Checks the read models (both unless `tables` says) against the fold of
 * `events`, and that every order_summary row's position is its stream's
 * last position in the log. Throws a VerificationError naming the first
 * differences.
 */
export async function verifyReadModels(
  db: pg.Pool,
  phase: string,
  events: Iterable<BenchEvent>,
  tables: readonly ReadModelTable[] = BOTH,
): Promise<void> {
  const problems = compareReadModels(foldEvents(events), await readReadModels(db, tables), {
    tables,
  });
  if (tables.includes('order_summary')) {
    const stale = await db.query<{ order_id: string; position: number; last: number }>(
      SQL.staleOrderPositions,
    );
    for (const row of stale.rows) {
      problems.push(
        `order_summary ${row.order_id}: position ${row.position}, its last event is at ${row.last}`,
      );
    }
  }
  if (problems.length > 0) throw new VerificationError(phase, problems.join('; '));
}

/**
 * Removes every projection: tables, views, registry rows, checkpoints and
 * parked events, so that the next workers start from nothing, as on a fresh
 * database.
 */
export async function resetProjections(db: pg.Pool): Promise<void> {
  await db.query(SQL.resetProjections);
}
