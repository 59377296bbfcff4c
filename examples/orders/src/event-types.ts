import { defineEvent, type EventsOf } from '@refract/core';
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
    placedAt: z.iso.datetime({ offset: true }),
  }),
});

export const itemAdded = defineEvent('ItemAdded', {
  schema: z.object({
    orderId: id,
    sku: id,
    qty: z.int().min(1),
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

/** The union the decider and the projections are typed over. */
export type OrderEventFromSchema = EventsOf<typeof orderEventTypes>;
