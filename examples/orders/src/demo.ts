import type { DemoCommand, DemoTraffic } from '@refract/core';
import type { OrderEvent } from './events.js';
import { generateWorkload, WORKLOAD_EVENTS_PER_ORDER, workloadOrderCount } from './workload.js';

/** Orders open at once: each gets a command about every `DEMO_OPEN_ORDERS / rate` seconds. */
const DEMO_OPEN_ORDERS = 50;
/** Orders per generated chunk; the workload closes every order of a chunk within it. */
const CHUNK_ORDERS = 1_000;
const CHUNK_EVENTS = CHUNK_ORDERS * WORKLOAD_EVENTS_PER_ORDER;

/** The command whose accepted result is `event` (the workload describes outcomes, the API takes commands). */
function commandFor(event: OrderEvent, orderId: string): DemoCommand {
  switch (event.type) {
    case 'OrderPlaced':
      // placedAt left out: the write API stamps the time of the request.
      return { type: 'PlaceOrder', body: { orderId, customerId: event.data.customerId } };
    case 'ItemAdded': {
      const { sku, qty, unitPrice } = event.data;
      return { type: 'AddItem', body: { orderId, sku, qty, unitPrice } };
    }
    case 'OrderShipped':
      return { type: 'ShipOrder', body: { orderId, trackingNumber: event.data.trackingNumber } };
    case 'OrderCancelled':
      return { type: 'CancelOrder', body: { orderId, reason: event.data.reason } };
  }
}

/**
 * An endless, seeded sequence of order lifecycles: the reference workload
 * (place, add 1..n items, then ship ~80% / cancel ~20%, many orders
 * interleaved) turned into commands, chunk after chunk. Every command is
 * valid for its order's state when the commands of one order are sent in
 * sequence, so the domain refuses none. Order ids are `demo-<runId>-<n>`.
 */
function* demoCommands(seed: number, runId: string): Generator<DemoCommand, never> {
  const ordersPerChunk = workloadOrderCount(CHUNK_EVENTS);
  for (let chunk = 0; ; chunk++) {
    const workload = generateWorkload({
      events: CHUNK_EVENTS,
      seed: (seed + chunk) | 0,
      concurrency: DEMO_OPEN_ORDERS,
    });
    for (const { event } of workload) {
      const n = chunk * ordersPerChunk + Number(event.data.orderId);
      yield commandFor(event, `demo-${runId}-${n}`);
    }
  }
}

/** The orders example's demo traffic for `refract dev`. */
export const ordersDemo: DemoTraffic = {
  name: 'orders',
  commands: ({ seed, runId }) => demoCommands(seed, runId),
};
