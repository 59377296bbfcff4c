import { defineEvent } from '@refract/core';
import { z } from 'zod';

// What the log accepts for each order event: a raw append whose payload does
// not match is refused with 422 naming the field, before anything is stored.
const id = z.string().min(1).max(100);
const money = z
  .string()
  .regex(/^\d+\.\d{2}$/, 'must be a decimal string with two places, e.g. "12.50"');

export const orderPlaced = defineEvent('OrderPlaced', {
  schema: z.object({
    orderId: id,
    customerId: id,
    /** ISO 8601 date-time; commands store it in UTC (`2024-01-01T00:00:00.000Z`). */
    placedAt: z.iso.datetime({ offset: true }),
  }),
});

export const itemAdded = defineEvent('ItemAdded', {
  schema: z.object({
    orderId: id,
    sku: id,
    /** A whole number of units. */
    qty: z.int().min(1),
    /** Decimal string with exactly two places (`"12.50"`): money is never a float. */
    unitPrice: money,
  }),
});

export const orderShipped = defineEvent('OrderShipped', {
  schema: z.object({ orderId: id, trackingNumber: z.string().min(1).max(200) }),
});

export const orderCancelled = defineEvent('OrderCancelled', {
  schema: z.object({ orderId: id, reason: z.string().min(1).max(200) }),
});

/** Every event type of the orders domain. */
export const orderEventTypes = [orderPlaced, itemAdded, orderShipped, orderCancelled] as const;
