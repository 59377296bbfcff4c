// The order projections as a user tests theirs: given events appended to the
// log, applied by the projector, then the rows the query views show.
import { type GivenEvent, projectionSpec } from '@refract/testing/projection';
import { afterAll, describe, it } from 'vitest';
import { type OrderEvent, orderStreamId, ordersApp } from '../index.js';

const orderSummary = projectionSpec(ordersApp, 'order_summary');
const customerStats = projectionSpec(ordersApp, 'customer_stats');
afterAll(() => Promise.all([orderSummary.close(), customerStats.close()]));

const at = '2024-01-01T00:00:00.000Z';
const given = (event: OrderEvent): GivenEvent => ({
  streamId: orderStreamId(event.data.orderId),
  ...event,
});
const placed = (orderId: string, customerId = 'c-1') =>
  given({ type: 'OrderPlaced', data: { orderId, customerId, placedAt: at } });
const item = (orderId: string, qty: number, unitPrice: string) =>
  given({ type: 'ItemAdded', data: { orderId, sku: 'sku-1', qty, unitPrice } });
const shipped = (orderId: string) =>
  given({ type: 'OrderShipped', data: { orderId, trackingNumber: 'T-1' } });
const cancelled = (orderId: string) =>
  given({ type: 'OrderCancelled', data: { orderId, reason: 'changed my mind' } });

const SUMMARIES = `SELECT order_id, customer_id, status, item_count, total_cents::int AS total_cents
  FROM projections.order_summary ORDER BY order_id`;
const STATS = `SELECT customer_id, orders_placed, orders_shipped, orders_cancelled,
  lifetime_value_cents::int AS lifetime_value_cents
  FROM projections.customer_stats ORDER BY customer_id`;

describe('order_summary', () => {
  it('sums the items of an order and follows it until it ships', async () => {
    const order = orderSummary.given([
      placed('o-1'),
      item('o-1', 2, '12.50'),
      placed('o-2'),
      item('o-1', 1, '0.99'),
    ]);
    await order.thenRows(SUMMARIES, [
      { order_id: 'o-1', customer_id: 'c-1', status: 'placed', item_count: 2, total_cents: 2599 },
      { order_id: 'o-2', customer_id: 'c-1', status: 'placed', item_count: 0, total_cents: 0 },
    ]);
    await order.when([shipped('o-1'), cancelled('o-2')]).thenRows(SUMMARIES, [
      { order_id: 'o-1', customer_id: 'c-1', status: 'shipped', item_count: 2, total_cents: 2599 },
      { order_id: 'o-2', customer_id: 'c-1', status: 'cancelled', item_count: 0, total_cents: 0 },
    ]);
  });

  it('parks an item added to an order already shipped, and leaves its row as it was', async () => {
    const order = orderSummary.given([placed('o-1'), item('o-1', 1, '5.00'), shipped('o-1')]);
    await order
      .when([item('o-1', 1, '1.00')])
      .thenParked([
        { streamId: 'order-o-1', type: 'ItemAdded', error: 'unknown or already closed: o-1' },
      ]);
    await order.thenRows(SUMMARIES, [
      { order_id: 'o-1', customer_id: 'c-1', status: 'shipped', item_count: 1, total_cents: 500 },
    ]);
  });
});

describe('customer_stats', () => {
  it('counts a customer’s orders by outcome and the value of those shipped', async () => {
    const customer = customerStats.given([
      placed('o-1', 'ada'),
      item('o-1', 3, '2.00'),
      placed('o-2', 'ada'),
      item('o-2', 1, '100.00'),
      placed('o-3', 'bob'),
    ]);
    await customer.thenRows(STATS, [
      {
        customer_id: 'ada',
        orders_placed: 2,
        orders_shipped: 0,
        orders_cancelled: 0,
        lifetime_value_cents: 0,
      },
      {
        customer_id: 'bob',
        orders_placed: 1,
        orders_shipped: 0,
        orders_cancelled: 0,
        lifetime_value_cents: 0,
      },
    ]);
    await customer.when([shipped('o-1'), cancelled('o-2')]).thenRows(STATS, [
      {
        customer_id: 'ada',
        orders_placed: 2,
        orders_shipped: 1,
        orders_cancelled: 1,
        lifetime_value_cents: 600,
      },
      {
        customer_id: 'bob',
        orders_placed: 1,
        orders_shipped: 0,
        orders_cancelled: 0,
        lifetime_value_cents: 0,
      },
    ]);
  });
});
