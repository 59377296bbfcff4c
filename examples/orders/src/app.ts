import { defineApp, isCounterProjection, type Projection } from '@refract/core';
import { z } from 'zod';
import { orderCommands } from './commands.js';
import { ordersDemo } from './demo.js';
import { orderEventTypes } from './event-types.js';
import { customerStatsProjection } from './projections/customer-stats.js';
import { orderSummaryProjection } from './projections/order-summary.js';
import { ordersQueryApi } from './query-api/orders-query-api.js';
import { DEFAULT_WEBHOOK_URL, shippingNotices } from './reactors/shipping-notices.js';

// The application's own setting: the services hand their environment to the
// module they load; `pnpm start` sets it to its local sink.
const webhookUrl = z
  .url()
  .default(DEFAULT_WEBHOOK_URL)
  .parse(process.env.WEBHOOK_SINK_URL || undefined);

/** The orders application: what `refract.config.ts` exports and every service loads. */
export const ordersApp = defineApp({
  name: 'orders',
  events: orderEventTypes,
  commands: orderCommands,
  projections: [orderSummaryProjection, customerStatsProjection],
  // In a pool of its own: a webhook that is down holds back only its notices.
  reactors: [shippingNotices(webhookUrl)],
  pools: { orders: ['order_summary', 'customer_stats'], notices: ['shipping_notices'] },
  demo: ordersDemo,
  queryApi: ordersQueryApi,
});

/** Both read models of the reference workload, with their pool filled in. */
export const orderProjections: readonly Projection[] = ordersApp.projections.filter(
  (projection): projection is Projection => !isCounterProjection(projection),
);
