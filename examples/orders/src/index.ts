export { orderProjections, ordersApp } from './app.js';
export {
  addItemRoute,
  cancelOrderRoute,
  ID_MAX_LENGTH,
  ID_PATTERN,
  orderCommands,
  placeOrderRoute,
  shipOrderRoute,
  TEXT_MAX_LENGTH,
} from './commands.js';
export { ordersDemo } from './demo.js';
export {
  itemAdded,
  orderCancelled,
  orderEventTypes,
  orderPlaced,
  orderShipped,
} from './event-types.js';
export {
  type ItemAdded,
  type ItemAddedData,
  ORDER_EVENT_TYPES,
  type OrderCancelled,
  type OrderCancelledData,
  type OrderEvent,
  type OrderEventType,
  type OrderPlaced,
  type OrderPlacedData,
  type OrderShipped,
  type OrderShippedData,
  orderStreamId,
} from './events.js';
export {
  type CustomerStats,
  type ExpectedReadModels,
  expectedReadModels,
  type OrderSummary,
} from './expected-read-models.js';
export { formatMoney, moneyInputSchema, normalizeMoneyInput, parseMoney } from './money.js';
export {
  type AddItem,
  type CancelOrder,
  MAX_ITEM_QTY,
  MIN_ITEM_QTY,
  type OrderCommand,
  type OrderState,
  type OrderStatus,
  orderDecider,
  type PlaceOrder,
  type ShipOrder,
} from './order-decider.js';
export { customerStatsProjection } from './projections/customer-stats.js';
export { orderSummaryProjection } from './projections/order-summary.js';
export { DEFAULT_WEBHOOK_URL, shippingNotices } from './reactors/shipping-notices.js';
export { type SeededRandom, seededRandom } from './seeded-random.js';
export {
  generateWorkload,
  type IdentifiedOrderEvent,
  WORKLOAD_CUSTOMERS,
  WORKLOAD_DEFAULT_CONCURRENCY,
  WORKLOAD_DEFAULT_SEED,
  WORKLOAD_EVENTS_PER_ORDER,
  WORKLOAD_SHIP_RATIO,
  type WorkloadEvent,
  type WorkloadOptions,
  workloadOrderCount,
} from './workload.js';
