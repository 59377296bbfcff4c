import { foldEvents } from '@refract/core';
import { describe, expect, it } from 'vitest';
import type { OrderEvent } from './events.js';
import { expectedReadModels } from './expected-read-models.js';
import { orderDecider } from './order-decider.js';
import { generateWorkload, type WorkloadEvent } from './workload.js';

const at = '2024-01-01T00:00:00.000Z';
const placed = (orderId: string, customerId: string): OrderEvent => ({
  type: 'OrderPlaced',
  data: { orderId, customerId, placedAt: at },
});
const item = (orderId: string, qty: number, unitPrice: string): OrderEvent => ({
  type: 'ItemAdded',
  data: { orderId, sku: 'sku-1', qty, unitPrice },
});
const shipped = (orderId: string): OrderEvent => ({
  type: 'OrderShipped',
  data: { orderId, trackingNumber: 'T' },
});
const cancelled = (orderId: string): OrderEvent => ({
  type: 'OrderCancelled',
  data: { orderId, reason: 'r' },
});

describe('expectedReadModels', () => {
  it('matches a hand-computed case', () => {
    const { orders, customers } = expectedReadModels([
      placed('A', 'c1'),
      placed('B', 'c1'),
      item('A', 2, '12.50'),
      placed('C', 'c2'),
      item('B', 3, '1.00'),
      item('A', 1, '0.99'),
      item('C', 5, '10.00'),
      cancelled('B'),
      shipped('A'),
    ]);
    expect([...orders.values()]).toEqual([
      {
        orderId: 'A',
        customerId: 'c1',
        status: 'shipped',
        itemCount: 2,
        totalCents: 2599,
        placedAt: at,
      },
      {
        orderId: 'B',
        customerId: 'c1',
        status: 'cancelled',
        itemCount: 1,
        totalCents: 300,
        placedAt: at,
      },
      {
        orderId: 'C',
        customerId: 'c2',
        status: 'placed',
        itemCount: 1,
        totalCents: 5000,
        placedAt: at,
      },
    ]);
    expect([...customers.values()]).toEqual([
      {
        customerId: 'c1',
        ordersPlaced: 2,
        ordersShipped: 1,
        ordersCancelled: 1,
        lifetimeValueCents: 2599,
      },
      {
        customerId: 'c2',
        ordersPlaced: 1,
        ordersShipped: 0,
        ordersCancelled: 0,
        lifetimeValueCents: 0,
      },
    ]);
  });

  it('is empty for no events', () => {
    const models = expectedReadModels([]);
    expect(models.orders.size).toBe(0);
    expect(models.customers.size).toBe(0);
  });

  it.each<[string, OrderEvent[], RegExp]>([
    ['an item before the order', [item('A', 1, '1.00')], /never placed/],
    ['a second OrderPlaced', [placed('A', 'c'), placed('A', 'c')], /placed twice/],
    [
      'an event after the end',
      [placed('A', 'c'), cancelled('A'), shipped('A')],
      /after it was cancelled/,
    ],
  ])('refuses %s', (_label, events, message) => {
    expect(() => expectedReadModels(events)).toThrow(message);
  });

  it('agrees with the order decider on a generated workload', () => {
    const generated = [...generateWorkload({ events: 20_000, seed: 99 })];
    const { orders, customers } = expectedReadModels(generated);
    const streams = new Map<string, WorkloadEvent[]>();
    for (const e of generated) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);

    let lifetimeValue = 0;
    for (const stream of streams.values()) {
      const state = foldEvents(
        orderDecider,
        stream.map((e) => e.event),
      );
      const orderId = stream[0]!.event.data.orderId;
      expect(orders.get(orderId)).toMatchObject({
        customerId: state.customerId,
        status: state.status,
        itemCount: state.itemCount,
        totalCents: state.totalCents,
      });
      if (state.status === 'shipped') lifetimeValue += state.totalCents;
    }
    const stats = [...customers.values()];
    expect(stats.reduce((sum, c) => sum + c.ordersPlaced, 0)).toBe(orders.size);
    expect(stats.reduce((sum, c) => sum + c.ordersShipped + c.ordersCancelled, 0)).toBe(
      orders.size,
    );
    expect(stats.reduce((sum, c) => sum + c.lifetimeValueCents, 0)).toBe(lifetimeValue);
  });
});
