import { defineReactor, postJson, type Reactor } from '@refract/core';
import type { OrderEvent } from '../events.js';

/** Where shipping notices go when WEBHOOK_SINK_URL is not set: `pnpm start`'s sink. */
export const DEFAULT_WEBHOOK_URL = 'http://127.0.0.1:4030/shipping-notices';

/**
 * A shipping notice POSTed to a webhook when an order ships, once per order:
 * its effect key is the order's, so a replay or a retried batch does not
 * send it again (a crash during the call may send it twice, and the ledger
 * then counts it at-least-once). A webhook that is down or answers 5xx is
 * retried with backoff; one that answers 4xx parks the event.
 */
export function shippingNotices(url: string): Reactor {
  return defineReactor<OrderEvent>({
    name: 'shipping_notices',
    handlers: {
      OrderShipped: async (event, ctx) => {
        const { orderId, trackingNumber } = event.data;
        const key = `shipped:${orderId}`;
        await ctx.effect(key, () =>
          postJson(url, { key, orderId, trackingNumber, position: event.position }),
        );
      },
    },
  });
}
