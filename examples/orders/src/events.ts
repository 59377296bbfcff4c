import type { EventsOf } from '@refract/core';
import { orderEventTypes } from './event-types.js';

// Every type here is derived from the schemas in event-types.ts, so what the
// log accepts and what the decider and the projections are typed over cannot
// drift apart.

/** The union the decider and the projections are typed over. */
export type OrderEvent = EventsOf<typeof orderEventTypes>;
export type OrderEventType = OrderEvent['type'];

type EventOfType<Type extends OrderEventType> = Extract<OrderEvent, { type: Type }>;

export type OrderPlaced = EventOfType<'OrderPlaced'>;
export type ItemAdded = EventOfType<'ItemAdded'>;
export type OrderShipped = EventOfType<'OrderShipped'>;
export type OrderCancelled = EventOfType<'OrderCancelled'>;

export type OrderPlacedData = OrderPlaced['data'];
export type ItemAddedData = ItemAdded['data'];
export type OrderShippedData = OrderShipped['data'];
export type OrderCancelledData = OrderCancelled['data'];

export const ORDER_EVENT_TYPES: readonly OrderEventType[] = orderEventTypes.map(
  (eventType) => eventType.type,
);

/** Order `X` lives in the stream `order-X`. */
export function orderStreamId(orderId: string): string {
  return `order-${orderId}`;
}
