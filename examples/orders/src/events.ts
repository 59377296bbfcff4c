import type { DomainEvent } from '@refract/core';

// Payloads are type aliases, not interfaces: only aliases are assignable to
// JsonObject's index signature, which DomainEvent requires of its data.

export type OrderPlacedData = {
  orderId: string;
  customerId: string;
  /** ISO 8601 date-time in UTC, e.g. `2024-01-01T00:00:00.000Z`. */
  placedAt: string;
};

export type ItemAddedData = {
  orderId: string;
  sku: string;
  /** A whole number of units. */
  qty: number;
  /** Decimal string with exactly two places (`"12.50"`): money is never a float. */
  unitPrice: string;
};

export type OrderShippedData = {
  orderId: string;
  trackingNumber: string;
};

export type OrderCancelledData = {
  orderId: string;
  reason: string;
};

export type OrderPlaced = DomainEvent<'OrderPlaced', OrderPlacedData>;
export type ItemAdded = DomainEvent<'ItemAdded', ItemAddedData>;
export type OrderShipped = DomainEvent<'OrderShipped', OrderShippedData>;
export type OrderCancelled = DomainEvent<'OrderCancelled', OrderCancelledData>;

export type OrderEvent = OrderPlaced | ItemAdded | OrderShipped | OrderCancelled;
export type OrderEventType = OrderEvent['type'];

export const ORDER_EVENT_TYPES: readonly OrderEventType[] = [
  'OrderPlaced',
  'ItemAdded',
  'OrderShipped',
  'OrderCancelled',
];

/** Order `X` lives in the stream `order-X` (see API.md). */
export function orderStreamId(orderId: string): string {
  return `order-${orderId}`;
}
