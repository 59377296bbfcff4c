import type { OrderEvent } from './events.js';
import { parseMoney } from './money.js';
import type { WorkloadEvent } from './workload.js';

/** The expected `order_summary` row of one order (without the store-given position). */
export type OrderSummary = {
  orderId: string;
  customerId: string;
  status: 'placed' | 'shipped' | 'cancelled';
  /** The number of ItemAdded events, not the sum of quantities. */
  itemCount: number;
  /** Sum of qty × unitPrice, in cents. */
  totalCents: number;
  placedAt: string;
};

/** The expected `customer_stats` row of one customer. Customers without orders have none. */
export type CustomerStats = {
  customerId: string;
  ordersPlaced: number;
  ordersShipped: number;
  ordersCancelled: number;
  /** Sum of the totals of shipped orders, in cents. */
  lifetimeValueCents: number;
};

export interface ExpectedReadModels {
  orders: Map<string, OrderSummary>;
  customers: Map<string, CustomerStats>;
}

function customerOf(customers: Map<string, CustomerStats>, customerId: string): CustomerStats {
  let stats = customers.get(customerId);
  if (!stats) {
    stats = {
      customerId,
      ordersPlaced: 0,
      ordersShipped: 0,
      ordersCancelled: 0,
      lifetimeValueCents: 0,
    };
    customers.set(customerId, stats);
  }
  return stats;
}

/**
 * Folds events, in the order given, into the contents both projections must
 * reach: the independent check every benchmark runs before it reports. Takes
 * generated WorkloadEvents or bare order events. Throws on a sequence no valid
 * order stream produces (an event before OrderPlaced, a second OrderPlaced,
 * anything after the terminal event), since the check would be meaningless.
 */
export function expectedReadModels(
  events: Iterable<WorkloadEvent | OrderEvent>,
): ExpectedReadModels {
  const orders = new Map<string, OrderSummary>();
  const customers = new Map<string, CustomerStats>();

  for (const item of events) {
    const event = 'event' in item ? item.event : item;
    const { orderId } = event.data;
    const order = orders.get(orderId);

    if (event.type === 'OrderPlaced') {
      if (order) throw new Error(`order ${orderId} placed twice`);
      const { customerId, placedAt } = event.data;
      orders.set(orderId, {
        orderId,
        customerId,
        status: 'placed',
        itemCount: 0,
        totalCents: 0,
        placedAt,
      });
      customerOf(customers, customerId).ordersPlaced += 1;
      continue;
    }
    if (!order) throw new Error(`${event.type} for order ${orderId}, which was never placed`);
    if (order.status !== 'placed')
      throw new Error(`${event.type} for order ${orderId} after it was ${order.status}`);

    const customer = customerOf(customers, order.customerId);
    switch (event.type) {
      case 'ItemAdded':
        order.itemCount += 1;
        order.totalCents += event.data.qty * parseMoney(event.data.unitPrice);
        break;
      case 'OrderShipped':
        order.status = 'shipped';
        customer.ordersShipped += 1;
        customer.lifetimeValueCents += order.totalCents;
        break;
      case 'OrderCancelled':
        order.status = 'cancelled';
        customer.ordersCancelled += 1;
        break;
    }
  }
  return { orders, customers };
}
