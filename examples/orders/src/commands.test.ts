import { InvalidInputError } from '@refract/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  addItemRoute,
  cancelOrderRoute,
  orderCommands,
  placeOrderRoute,
  shipOrderRoute,
} from './commands.js';
import { orderDecider } from './order-decider.js';

/** The field an InvalidInputError names when `parse` refuses `input`. */
function refusedField(parse: (input: unknown) => unknown, input: unknown): string {
  try {
    parse(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    const invalid = error as InvalidInputError;
    expect(invalid.code).toBe('invalid_request');
    expect(invalid.details).toEqual({ field: invalid.field });
    return invalid.field;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be refused`);
}

const validItem = { orderId: 'o-1', sku: 'SKU_1.a:b@c', qty: 2, unitPrice: '12.50' };

describe('orderCommands', () => {
  it('has one route per command type, all on the order decider', () => {
    expect(orderCommands.map((route) => route.type)).toEqual([
      'PlaceOrder',
      'AddItem',
      'ShipOrder',
      'CancelOrder',
    ]);
    for (const route of orderCommands) expect(route.decider).toBe(orderDecider);
  });

  it('routes every command to the order-<orderId> stream', () => {
    const inputs: Record<string, unknown> = {
      PlaceOrder: { orderId: 'A-7', customerId: 'c' },
      AddItem: { ...validItem, orderId: 'A-7' },
      ShipOrder: { orderId: 'A-7', trackingNumber: 'T' },
      CancelOrder: { orderId: 'A-7', reason: 'r' },
    };
    for (const route of orderCommands) {
      expect(route.streamId(route.parse(inputs[route.type]))).toBe('order-A-7');
    }
  });
});

describe('PlaceOrder', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('defaults placedAt to the time of parsing', () => {
    vi.useFakeTimers({ now: new Date('2025-03-04T05:06:07.890Z') });
    expect(placeOrderRoute.parse({ orderId: '1', customerId: 'customer-1' })).toEqual({
      type: 'PlaceOrder',
      orderId: '1',
      customerId: 'customer-1',
      placedAt: '2025-03-04T05:06:07.890Z',
    });
  });

  it('keeps a given placedAt, normalised to UTC', () => {
    const command = placeOrderRoute.parse({
      orderId: '1',
      customerId: 'c',
      placedAt: '2024-06-01T12:00:00+02:00',
    });
    expect(command).toMatchObject({ placedAt: '2024-06-01T10:00:00.000Z' });
  });

  it.each<[string, unknown, string]>([
    ['a missing orderId', { customerId: 'c' }, 'orderId'],
    ['an empty orderId', { orderId: '', customerId: 'c' }, 'orderId'],
    ['a numeric orderId', { orderId: 7, customerId: 'c' }, 'orderId'],
    ['a space in orderId', { orderId: 'a b', customerId: 'c' }, 'orderId'],
    ['a slash in orderId', { orderId: 'a/b', customerId: 'c' }, 'orderId'],
    ['an orderId over 100 chars', { orderId: 'x'.repeat(101), customerId: 'c' }, 'orderId'],
    ['the first of two bad fields', { orderId: '', customerId: '' }, 'orderId'],
    ['a missing customerId', { orderId: '1' }, 'customerId'],
    ['a bad placedAt', { orderId: '1', customerId: 'c', placedAt: 'yesterday' }, 'placedAt'],
    [
      'a placedAt without zone',
      { orderId: '1', customerId: 'c', placedAt: '2024-01-01T00:00:00' },
      'placedAt',
    ],
    ['an unknown field', { orderId: '1', customerId: 'c', placedat: 'x' }, 'placedat'],
    ['a null body', null, 'body'],
    ['an array body', [], 'body'],
    ['a string body', 'PlaceOrder', 'body'],
  ])('refuses %s', (_label, input, field) => {
    expect(refusedField(placeOrderRoute.parse, input)).toBe(field);
  });

  it('accepts an id of exactly 100 allowed characters', () => {
    const orderId = `${'a'.repeat(95)}_.:@-`;
    expect(placeOrderRoute.parse({ orderId, customerId: 'c' })).toMatchObject({ orderId });
  });

  it('says what is wrong in the message', () => {
    expect(() => placeOrderRoute.parse({ customerId: 'c' })).toThrow('orderId is required');
  });
});

describe('AddItem', () => {
  it('parses and normalises unitPrice to two places', () => {
    expect(addItemRoute.parse({ ...validItem, unitPrice: 7.5 })).toEqual({
      type: 'AddItem',
      ...validItem,
      unitPrice: '7.50',
    });
    expect(addItemRoute.parse({ ...validItem, unitPrice: '3' })).toMatchObject({
      unitPrice: '3.00',
    });
  });

  it('leaves range rules to the decider', () => {
    // qty 0 and a zero price are well formed; the decider refuses them with 422.
    expect(addItemRoute.parse({ ...validItem, qty: 0, unitPrice: '0' })).toMatchObject({
      qty: 0,
      unitPrice: '0.00',
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a missing orderId', { orderId: undefined }, 'orderId'],
    ['a bad sku', { sku: 'sku 1' }, 'sku'],
    ['a missing qty', { qty: undefined }, 'qty'],
    ['a fractional qty', { qty: 1.5 }, 'qty'],
    ['a string qty', { qty: '2' }, 'qty'],
    ['a missing unitPrice', { unitPrice: undefined }, 'unitPrice'],
    ['a unitPrice with 3 decimals', { unitPrice: '12.345' }, 'unitPrice'],
    ['a float unitPrice', { unitPrice: 0.1 + 0.2 }, 'unitPrice'],
    ['a negative unitPrice', { unitPrice: -1 }, 'unitPrice'],
    ['a garbage unitPrice', { unitPrice: '12 EUR' }, 'unitPrice'],
    ['a boolean unitPrice', { unitPrice: true }, 'unitPrice'],
    ['an unknown field', { quantity: 2 }, 'quantity'],
  ])('refuses %s', (_label, change, field) => {
    expect(refusedField(addItemRoute.parse, { ...validItem, ...change })).toBe(field);
  });

  it('names the first offending field in field order', () => {
    expect(refusedField(addItemRoute.parse, { ...validItem, qty: 'x', unitPrice: 'y' })).toBe(
      'qty',
    );
  });
});

describe('ShipOrder and CancelOrder', () => {
  it('parse valid input', () => {
    expect(shipOrderRoute.parse({ orderId: '1', trackingNumber: 'TRK 1' })).toEqual({
      type: 'ShipOrder',
      orderId: '1',
      trackingNumber: 'TRK 1',
    });
    expect(cancelOrderRoute.parse({ orderId: '1', reason: 'out of stock' })).toEqual({
      type: 'CancelOrder',
      orderId: '1',
      reason: 'out of stock',
    });
  });

  it.each<[string, (input: unknown) => unknown, unknown, string]>([
    ['a missing trackingNumber', shipOrderRoute.parse, { orderId: '1' }, 'trackingNumber'],
    [
      'an empty trackingNumber',
      shipOrderRoute.parse,
      { orderId: '1', trackingNumber: '' },
      'trackingNumber',
    ],
    [
      'a trackingNumber over 200 chars',
      shipOrderRoute.parse,
      { orderId: '1', trackingNumber: 'x'.repeat(201) },
      'trackingNumber',
    ],
    ['a bad orderId', shipOrderRoute.parse, { orderId: '#', trackingNumber: 'T' }, 'orderId'],
    ['a missing reason', cancelOrderRoute.parse, { orderId: '1' }, 'reason'],
    [
      'a reason over 200 chars',
      cancelOrderRoute.parse,
      { orderId: '1', reason: 'r'.repeat(201) },
      'reason',
    ],
    ['a numeric reason', cancelOrderRoute.parse, { orderId: '1', reason: 5 }, 'reason'],
  ])('refuse %s', (_label, parse, input, field) => {
    expect(refusedField(parse, input)).toBe(field);
  });

  it('accept text of exactly 200 chars', () => {
    const reason = 'r'.repeat(200);
    expect(cancelOrderRoute.parse({ orderId: '1', reason })).toMatchObject({ reason });
  });
});
