import { type AnyCommandRoute, defineCommand } from '@refract/core';
import { z } from 'zod';
import { orderStreamId } from './events.js';
import { moneyInputSchema } from './money.js';
import {
  type AddItem,
  type CancelOrder,
  type OrderCommand,
  orderDecider,
  type PlaceOrder,
  type ShipOrder,
} from './order-decider.js';

export const ID_MAX_LENGTH = 100;
/** Ids stay within the stream-id alphabet, so `order-<orderId>` is always a valid stream id. */
export const ID_PATTERN = /^[A-Za-z0-9_.:@-]+$/;
export const TEXT_MAX_LENGTH = 200;

const requiredString = z.string({
  error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
});

const id = requiredString
  .min(1, 'must not be empty')
  .max(ID_MAX_LENGTH, `must be at most ${ID_MAX_LENGTH} characters`)
  .regex(ID_PATTERN, 'may contain only letters, digits and _ . : @ -');

const text = requiredString
  .min(1, 'must not be empty')
  .max(TEXT_MAX_LENGTH, `must be at most ${TEXT_MAX_LENGTH} characters`);

// Unknown fields are refused rather than dropped: a misspelt optional field
// (`placedat`) would otherwise be silently replaced by its default.
const placeOrderBody = z.strictObject({
  orderId: id,
  customerId: id,
  placedAt: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with a time zone' })
    .optional(),
});

// Only the shape is checked here (400); the range of qty and a zero price are
// business rules, refused by the decider (422).
const addItemBody = z.strictObject({
  orderId: id,
  sku: id,
  qty: z.int({
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be a whole number'),
  }),
  unitPrice: moneyInputSchema,
});

const shipOrderBody = z.strictObject({ orderId: id, trackingNumber: text });
const cancelOrderBody = z.strictObject({ orderId: id, reason: text });

/** Every order command acts on its order's stream. */
function streamOf(command: OrderCommand): string {
  return orderStreamId(command.orderId);
}

export const placeOrderRoute = defineCommand({
  type: 'PlaceOrder',
  schema: placeOrderBody,
  toCommand: (body): PlaceOrder => ({
    type: 'PlaceOrder',
    orderId: body.orderId,
    customerId: body.customerId,
    // Normalised to UTC so equal instants are stored alike.
    placedAt: new Date(body.placedAt ?? Date.now()).toISOString(),
  }),
  streamId: streamOf,
  decider: orderDecider,
});

export const addItemRoute = defineCommand({
  type: 'AddItem',
  schema: addItemBody,
  toCommand: (body): AddItem => ({ type: 'AddItem', ...body }),
  streamId: streamOf,
  decider: orderDecider,
});

export const shipOrderRoute = defineCommand({
  type: 'ShipOrder',
  schema: shipOrderBody,
  toCommand: (body): ShipOrder => ({ type: 'ShipOrder', ...body }),
  streamId: streamOf,
  decider: orderDecider,
});

export const cancelOrderRoute = defineCommand({
  type: 'CancelOrder',
  schema: cancelOrderBody,
  toCommand: (body): CancelOrder => ({ type: 'CancelOrder', ...body }),
  streamId: streamOf,
  decider: orderDecider,
});

/** The example domain's command catalog: one route per command type, for the write API. */
export const orderCommands: AnyCommandRoute[] = [
  placeOrderRoute,
  addItemRoute,
  shipOrderRoute,
  cancelOrderRoute,
];
