import { describe, expect, it } from 'vitest';
import { formatMoney, moneyInputSchema, normalizeMoneyInput, parseMoney } from './money.js';

describe('parseMoney', () => {
  it.each([
    ['0', 0],
    ['12', 1200],
    ['12.3', 1230],
    ['12.34', 1234],
    ['0.05', 5],
    ['0.5', 50],
    ['007.10', 710],
    ['500.00', 50_000],
    ['90071992547409.91', Number.MAX_SAFE_INTEGER],
  ])('parses %j as %i cents', (text, cents) => {
    expect(parseMoney(text)).toBe(cents);
  });

  it.each([
    '12.345',
    '0.001',
    '-1',
    '-0.01',
    '+1',
    '1e3',
    ' 12',
    '12 ',
    '',
    '.5',
    '12.',
    '1,50',
    'abc',
    'NaN',
    'Infinity',
    '0x10',
    '１２',
    '90071992547409.92',
    '100000000000000000',
  ])('rejects %j', (text) => {
    expect(() => parseMoney(text)).toThrow(RangeError);
  });

  it('rejects a non-string at run time', () => {
    expect(() => parseMoney(12 as unknown as string)).toThrow(RangeError);
  });
});

describe('formatMoney', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [50, '0.50'],
    [100, '1.00'],
    [1234, '12.34'],
    [50_000, '500.00'],
    [-5, '-0.05'],
    [-1234, '-12.34'],
  ])('formats %i cents as %j', (cents, text) => {
    expect(formatMoney(cents)).toBe(text);
  });

  it.each([1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'rejects %d',
    (cents) => {
      expect(() => formatMoney(cents)).toThrow(RangeError);
    },
  );

  it('round-trips with parseMoney', () => {
    for (const cents of [0, 1, 9, 10, 99, 100, 101, 12_345, 999_999, 123_456_789]) {
      expect(parseMoney(formatMoney(cents))).toBe(cents);
    }
  });
});

describe('normalizeMoneyInput', () => {
  it.each([
    ['12.5', '12.50'],
    ['7', '7.00'],
    ['0.05', '0.05'],
    [12.5, '12.50'],
    [7, '7.00'],
    [19.99, '19.99'],
    [0.1, '0.10'],
    [0, '0.00'],
  ])('normalises %j to %j', (input, text) => {
    expect(normalizeMoneyInput(input)).toBe(text);
  });

  it.each([
    ['a float with a long decimal form', 0.1 + 0.2],
    ['three decimals', 1.005],
    ['a number shown in exponent form', 1e21],
    ['a tiny number', 1e-7],
    ['a negative number', -1],
    ['a string with three decimals', '1.234'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['null', null],
    ['a boolean', true],
    ['an object', { amount: 1 }],
  ])('rejects %s', (_label, input) => {
    expect(() => normalizeMoneyInput(input)).toThrow(RangeError);
  });
});

describe('moneyInputSchema', () => {
  it('normalises valid input', () => {
    expect(moneyInputSchema.parse(3.5)).toBe('3.50');
  });

  it('says a missing value is required', () => {
    const result = moneyInputSchema.safeParse(undefined);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('is required');
  });

  it('explains a bad amount', () => {
    const result = moneyInputSchema.safeParse('1.234');
    expect(result.error?.issues[0]?.message).toMatch(/at most 2 decimal places/);
  });
});
