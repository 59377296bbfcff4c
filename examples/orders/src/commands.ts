import {
  type AnyCommandRoute,
  type CommandRoute,
  commandRoute,
  InvalidInputError,
} from '@refract/core';
import { z } from 'zod';
import { type OrderEvent, orderStreamId } from './events.js';
import { moneyInputSchema } from './money.js';
import {
  type AddItem,
  type CancelOrder,
  type OrderCommand,
  type OrderState,
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

/** Validates `input` against `schema`, throwing InvalidInputError that names the first bad field. */
function validate<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw new InvalidInputError('body', 'is invalid');
  if (issue.code === 'unrecognized_keys') {
    throw new InvalidInputError(issue.keys[0] ?? 'body', 'is not a known field');
  }
  if (issue.path.length === 0) throw new InvalidInputError('body', 'must be a JSON object');
  throw new InvalidInputError(issue.path.map(String).join('.'), issue.message);
}

type OrderRoute = CommandRoute<OrderCommand, OrderEvent, OrderState>;

function route(type: OrderCommand['type'], parse: (input: unknown) => OrderCommand): OrderRoute {
  return {
    type,
    parse,
    streamId: (command) => orderStreamId(command.orderId),
    decider: orderDecider,
  };
}

export const placeOrderRoute = route('PlaceOrder', (input): PlaceOrder => {
  const body = validate(placeOrderBody, input);
  return {
    type: 'PlaceOrder',
    orderId: body.orderId,
    customerId: body.customerId,
    // Normalised to UTC so equal instants are stored alike.
    placedAt: new Date(body.placedAt ?? Date.now()).toISOString(),
  };
});

export const addItemRoute = route('AddItem', (input): AddItem => {
  const body = validate(addItemBody, input);
  return { type: 'AddItem', ...body };
});

export const shipOrderRoute = route('ShipOrder', (input): ShipOrder => {
  const body = validate(shipOrderBody, input);
  return { type: 'ShipOrder', ...body };
});

export const cancelOrderRoute = route('CancelOrder', (input): CancelOrder => {
  const body = validate(cancelOrderBody, input);
  return { type: 'CancelOrder', ...body };
});

/** The example domain's command catalog: one route per command type, for the write API. */
export const orderCommands: AnyCommandRoute[] = [
  placeOrderRoute,
  addItemRoute,
  shipOrderRoute,
  cancelOrderRoute,
].map((r) => commandRoute(r));
