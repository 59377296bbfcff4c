import { describe, expect, it } from 'vitest';
import { centsToDecimal } from './read-models.js';

describe('centsToDecimal', () => {
  it.each([
    ['0', '0.00'],
    ['5', '0.05'],
    ['10', '0.10'],
    ['99', '0.99'],
    ['100', '1.00'],
    ['12345', '123.45'],
    ['007', '0.07'],
    ['-5', '-0.05'],
    // Beyond 2^53: exact, since it never becomes a number.
    ['9223372036854775807', '92233720368547758.07'],
  ])('%s cents → %s', (cents, text) => {
    expect(centsToDecimal(cents)).toBe(text);
  });

  it('refuses anything but an integer', () => {
    for (const bad of ['', '1.5', 'abc', '1e3', ' 1']) {
      expect(() => centsToDecimal(bad)).toThrow(RangeError);
    }
  });
});
