import { foldEvents } from '@refract/core';
import { deciderSpec } from '@refract/testing/decider';
import { describe, expect, it } from 'vitest';
import type { OrderEvent } from './events.js';
import { type OrderCommand, orderDecider } from './order-decider.js';

const orderId = '42';
const placed: OrderEvent = {
  type: 'OrderPlaced',
  data: { orderId, customerId: 'customer-1', placedAt: '2024-01-01T00:00:00.000Z' },
};
const item: OrderEvent = {
  type: 'ItemAdded',
  data: { orderId, sku: 'sku-1', qty: 2, unitPrice: '12.50' },
};
const shipped: OrderEvent = { type: 'OrderShipped', data: { orderId, trackingNumber: 'TRK1' } };
const cancelled: OrderEvent = { type: 'OrderCancelled', data: { orderId, reason: 'changed mind' } };

const place: OrderCommand = {
  type: 'PlaceOrder',
  orderId,
  customerId: 'customer-1',
  placedAt: '2024-01-01T00:00:00.000Z',
};
const addItem = (qty: number, unitPrice: string): OrderCommand => ({
  type: 'AddItem',
  orderId,
  sku: 'sku-1',
  qty,
  unitPrice,
});
const ship: OrderCommand = { type: 'ShipOrder', orderId, trackingNumber: 'TRK1' };
const cancel: OrderCommand = { type: 'CancelOrder', orderId, reason: 'changed mind' };

const order = deciderSpec(orderDecider);

describe('orderDecider', () => {
  it('is named order and snapshots plain JSON', () => {
    expect(orderDecider.name).toBe('order');
    const state = foldEvents(orderDecider, [placed, item, shipped]);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it('places, fills and ships an order', () => {
    const item1: OrderEvent = {
      type: 'ItemAdded',
      data: { orderId, sku: 'sku-1', qty: 1, unitPrice: '0.99' },
    };
    order.when(place).thenEvents([placed]);
    // The price is stored in its canonical two-place form, whatever the caller wrote.
    order.given([placed]).when(addItem(2, '12.5')).thenEvents([item]);
    order.given([placed, item]).when(addItem(1, '0.99')).thenEvents([item1]);
    order.given([placed, item, item1]).when(ship).thenEvents([shipped]);
    order
      .given([placed, item, item1])
      .when(ship)
      .thenState({ status: 'shipped', customerId: 'customer-1', itemCount: 2, totalCents: 2599 });
  });

  it('cancels a placed order, with or without items', () => {
    order.given([placed]).when(cancel).thenEvents([cancelled]);
    order.given([placed, item]).when(cancel).thenEvents([cancelled]);
    order.given([placed, item]).when(cancel).thenState({
      status: 'cancelled',
      customerId: 'customer-1',
      itemCount: 1,
      totalCents: 2500,
    });
  });

  it('accepts the qty limits', () => {
    order
      .given([placed])
      .when(addItem(1, '1'))
      .thenEvents([
        { type: 'ItemAdded', data: { orderId, sku: 'sku-1', qty: 1, unitPrice: '1.00' } },
      ]);
    order
      .given([placed])
      .when(addItem(100, '0.01'))
      .thenEvents([
        { type: 'ItemAdded', data: { orderId, sku: 'sku-1', qty: 100, unitPrice: '0.01' } },
      ]);
  });

  it.each<[string, OrderEvent[], OrderCommand, RegExp]>([
    ['placing an order twice', [placed], place, /already been placed/],
    ['placing a shipped order again', [placed, item, shipped], place, /already been placed/],
    ['adding to an order never placed', [], addItem(1, '1.00'), /has not been placed/],
    ['shipping an order never placed', [], ship, /has not been placed/],
    ['cancelling an order never placed', [], cancel, /has not been placed/],
    ['adding after shipping', [placed, item, shipped], addItem(1, '1.00'), /already been shipped/],
    ['adding after cancelling', [placed, cancelled], addItem(1, '1.00'), /been cancelled/],
    ['shipping an empty order', [placed], ship, /no items/],
    ['shipping twice', [placed, item, shipped], ship, /already been shipped/],
    ['shipping a cancelled order', [placed, item, cancelled], ship, /been cancelled/],
    ['cancelling twice', [placed, cancelled], cancel, /been cancelled/],
    ['cancelling a shipped order', [placed, item, shipped], cancel, /already been shipped/],
    ['a qty of 0', [placed], addItem(0, '1.00'), /qty must be a whole number from 1 to 100/],
    ['a negative qty', [placed], addItem(-1, '1.00'), /qty/],
    ['a qty over 100', [placed], addItem(101, '1.00'), /qty/],
    ['a fractional qty', [placed], addItem(1.5, '1.00'), /qty/],
    ['a zero price', [placed], addItem(1, '0'), /unitPrice must be greater than 0/],
    ['a zero price with decimals', [placed], addItem(1, '0.00'), /greater than 0/],
    ['a price with 3 decimals', [placed], addItem(1, '1.234'), /at most 2 decimal places/],
    ['a negative price', [placed], addItem(1, '-1.00'), /unitPrice/],
    ['a price that is not a number', [placed], addItem(1, 'abc'), /unitPrice/],
    [
      'a total beyond the safe integer range',
      [
        placed,
        { type: 'ItemAdded', data: { ...item.data, qty: 1, unitPrice: '90071992547409.00' } },
      ],
      addItem(1, '1.00'),
      /largest supported amount/,
    ],
  ])('refuses %s', (_label, history, command, message) => {
    order.given(history).when(command).thenThrows({
      code: 'rule_violated',
      message,
      details: { orderId },
    });
  });

  it('is pure: decide and evolve leave their inputs alone', () => {
    const state = Object.freeze(foldEvents(orderDecider, [placed, item]));
    const before = structuredClone(state);
    expect(orderDecider.decide(ship, state)).toEqual([shipped]);
    const next = orderDecider.evolve(state, item);
    expect(state).toEqual(before);
    expect(next).not.toBe(state);
    expect(next.itemCount).toBe(2);
    // Same inputs, same output.
    expect(orderDecider.decide(ship, state)).toEqual(orderDecider.decide(ship, state));
  });

  it('fails loudly on an unknown command or event', () => {
    const state = orderDecider.initialState();
    expect(() => orderDecider.decide({ type: 'Refund' } as unknown as OrderCommand, state)).toThrow(
      /unknown command Refund/,
    );
    expect(() =>
      orderDecider.evolve(state, { type: 'Refunded', data: {} } as unknown as OrderEvent),
    ).toThrow(/unknown event Refunded/);
  });
});
