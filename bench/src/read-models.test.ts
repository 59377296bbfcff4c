import { describe, expect, it } from 'vitest';
import { compareReadModels, foldEvents } from './read-models.js';
import { loadWorkload } from './workload.js';

const events = loadWorkload(2_000, 2_000, 32);
const expected = foldEvents(events);

/** The tables as they would read back when everything is right. */
function exact() {
  return {
    orders: [...expected.orders.values()].map((row) => ({ ...row })),
    customers: [...expected.customers.values()].map((row) => ({ ...row })),
  };
}

describe('compareReadModels', () => {
  it('finds nothing when the tables hold the fold exactly', () => {
    expect(expected.orders.size).toBe(100);
    expect(compareReadModels(expected, exact())).toEqual([]);
  });

  it('names a total one cent off', () => {
    const actual = exact();
    actual.orders[3]!.totalCents += 1;
    const [problem] = compareReadModels(expected, actual);
    expect(problem).toContain(`order_summary ${actual.orders[3]!.orderId}: totalCents is`);
  });

  it('catches a doubly applied customer_stats increment', () => {
    const actual = exact();
    actual.customers[0]!.ordersPlaced *= 2;
    expect(compareReadModels(expected, actual)).toEqual([
      expect.stringContaining(`customer_stats ${actual.customers[0]!.customerId}: ordersPlaced is`),
    ]);
  });

  it('reports missing, unexpected and duplicated rows', () => {
    const actual = exact();
    const gone = actual.orders.pop()!;
    actual.orders.push({ ...actual.orders[0]! });
    actual.customers.push({ ...actual.customers[0]!, customerId: 'customer-nobody' });
    const problems = compareReadModels(expected, actual);
    expect(problems).toContain(`order_summary ${actual.orders[0]!.orderId}: more than one row`);
    expect(problems).toContain('customer_stats customer-nobody: unexpected row');
    expect(problems).toContain(`order_summary: 1 rows missing (${gone.orderId})`);
  });

  it('compares only the tables asked for', () => {
    const actual = exact();
    actual.orders[0]!.status = 'cancelled';
    expect(compareReadModels(expected, actual, { tables: ['customer_stats'] })).toEqual([]);
    expect(compareReadModels(expected, actual, { tables: ['order_summary'] })).toHaveLength(1);
  });

  it('stops at the limit', () => {
    const actual = exact();
    for (const row of actual.orders) row.itemCount += 1;
    expect(compareReadModels(expected, actual, { limit: 3 })).toHaveLength(3);
  });
});

describe('loadWorkload with a variant', () => {
  it('gives other orders of the same customers, with other ids', () => {
    const variant = loadWorkload(2_000, 2_000, 32, { seed: 7, orderPrefix: 't' });
    expect(variant[0]!.streamId).toMatch(/^order-t/);
    const ids = new Set(events.map((e) => e.id));
    expect(variant.some((e) => ids.has(e.id))).toBe(false);
    const fold = foldEvents([...events, ...variant]);
    expect(fold.orders.size).toBe(200);
    const customer = [...fold.customers.values()].reduce((sum, c) => sum + c.ordersPlaced, 0);
    expect(customer).toBe(200);
  });
});
