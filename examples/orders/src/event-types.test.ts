import { type DomainEvent, foldEvents, InvalidEventError } from '@refract/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ordersApp } from './app.js';
import { addItemRoute, cancelOrderRoute, placeOrderRoute, shipOrderRoute } from './commands.js';
import {
  type ItemAddedData,
  ORDER_EVENT_TYPES,
  type OrderCancelledData,
  type OrderEvent,
  type OrderPlacedData,
  type OrderShippedData,
} from './events.js';
import { type OrderCommand, orderDecider } from './order-decider.js';
import { generateWorkload } from './workload.js';

function check(event: DomainEvent): number {
  return ordersApp.checkEvent(event, 'events.0');
}

/** The field checkEvent names when it refuses `event`. */
function refusedField(event: DomainEvent): string {
  try {
    check(event);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidEventError);
    return (error as InvalidEventError).field;
  }
  throw new Error(`expected ${JSON.stringify(event)} to be refused`);
}

describe('orderEventTypes', () => {
  it('declares the four order event types, all at version 1', () => {
    expect([...ordersApp.events.keys()]).toEqual([...ORDER_EVENT_TYPES]);
    expect(ORDER_EVENT_TYPES).toEqual([
      'OrderPlaced',
      'ItemAdded',
      'OrderShipped',
      'OrderCancelled',
    ]);
  });

  it.each([1, 20_240_101])('accepts every event of the seeded workload (seed %i)', (seed) => {
    let count = 0;
    for (const { event } of generateWorkload({ events: 20_000, seed })) {
      const { id: _id, ...domainEvent } = event;
      expect(check(domainEvent)).toBe(1);
      count++;
    }
    expect(count).toBe(20_000);
  });

  it('accepts what the decider decides from commands at the edges of what the routes take', () => {
    const orderId = `${'a'.repeat(95)}_.:@-`;
    const commands = [
      placeOrderRoute.parse({ orderId, customerId: 'c' }),
      placeOrderRoute.parse({
        orderId: 'o-2',
        customerId: 'c',
        placedAt: '2024-06-01T12:00:00.123456+02:00',
      }),
      addItemRoute.parse({ orderId, sku: 'x'.repeat(100), qty: 100, unitPrice: 0.01 }),
      addItemRoute.parse({ orderId, sku: 's', qty: 1, unitPrice: '90071992547.4' }),
      shipOrderRoute.parse({ orderId, trackingNumber: 't'.repeat(200) }),
      cancelOrderRoute.parse({ orderId: 'o-2', reason: 'r' }),
    ] as OrderCommand[];
    const histories = new Map<string, OrderEvent[]>();
    for (const command of commands) {
      const history = histories.get(command.orderId) ?? [];
      const decided = orderDecider.decide(command, foldEvents(orderDecider, history));
      for (const event of decided) expect(check(event)).toBe(1);
      histories.set(command.orderId, [...history, ...decided]);
    }
    expect([...histories.values()].flat().map((e) => e.type)).toEqual([
      'OrderPlaced',
      'ItemAdded',
      'ItemAdded',
      'OrderShipped',
      'OrderPlaced',
      'OrderCancelled',
    ]);
  });

  it.each<[string, DomainEvent, string]>([
    [
      'a unitPrice with one decimal',
      { type: 'ItemAdded', data: { orderId: '1', sku: 's', qty: 1, unitPrice: '12.5' } },
      'events.0.data.unitPrice',
    ],
    [
      'a qty of 0',
      { type: 'ItemAdded', data: { orderId: '1', sku: 's', qty: 0, unitPrice: '1.00' } },
      'events.0.data.qty',
    ],
    [
      'a fractional qty',
      { type: 'ItemAdded', data: { orderId: '1', sku: 's', qty: 1.5, unitPrice: '1.00' } },
      'events.0.data.qty',
    ],
    [
      'a placedAt without zone',
      {
        type: 'OrderPlaced',
        data: { orderId: '1', customerId: 'c', placedAt: '2024-01-01T00:00' },
      },
      'events.0.data.placedAt',
    ],
    [
      'an empty orderId',
      { type: 'OrderShipped', data: { orderId: '', trackingNumber: 'T' } },
      'events.0.data.orderId',
    ],
    [
      'a missing reason',
      { type: 'OrderCancelled', data: { orderId: '1' } },
      'events.0.data.reason',
    ],
    ['an undeclared type', { type: 'OrderLost', data: { orderId: '1' } }, 'events.0.type'],
  ])('refuses %s, naming the field', (_label, event, field) => {
    expect(refusedField(event)).toBe(field);
  });

  it('derives the payload types from the schemas', () => {
    expectTypeOf<OrderPlacedData>().toEqualTypeOf<{
      orderId: string;
      customerId: string;
      placedAt: string;
    }>();
    expectTypeOf<ItemAddedData>().toEqualTypeOf<{
      orderId: string;
      sku: string;
      qty: number;
      unitPrice: string;
    }>();
    expectTypeOf<OrderShippedData>().toEqualTypeOf<{ orderId: string; trackingNumber: string }>();
    expectTypeOf<OrderCancelledData>().toEqualTypeOf<{ orderId: string; reason: string }>();
    expectTypeOf<OrderEvent['type']>().toEqualTypeOf<
      'OrderPlaced' | 'ItemAdded' | 'OrderShipped' | 'OrderCancelled'
    >();
  });
});
