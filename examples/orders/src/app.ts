import { defineApp, isCounterProjection, type Projection } from '@refract/core';
import { orderCommands } from './commands.js';
import { ordersDemo } from './demo.js';
import { orderEventTypes } from './event-types.js';
import { customerStatsProjection } from './projections/customer-stats.js';
import { orderSummaryProjection } from './projections/order-summary.js';
import { ordersQueryApi } from './query-api/orders-query-api.js';

/** The orders application: what `refract.config.ts` exports and every service loads. */
export const ordersApp = defineApp({
  name: 'orders',
  events: orderEventTypes,
  commands: orderCommands,
  projections: [orderSummaryProjection, customerStatsProjection],
  pools: { orders: ['order_summary', 'customer_stats'] },
  demo: ordersDemo,
  queryApi: ordersQueryApi,
});

/** Both read models of the reference workload, with their pool filled in. */
export const orderProjections: readonly Projection[] = ordersApp.projections.filter(
  (projection): projection is Projection => !isCounterProjection(projection),
);
