import type { Projection } from '@refract/core';
import { customerStatsProjection } from './customer-stats.js';
import { orderSummaryProjection } from './order-summary.js';

/** Both read models of the reference workload, for the `orders` worker pool. */
export const orderProjections: readonly Projection[] = [
  orderSummaryProjection,
  customerStatsProjection,
];
