import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

describe('backoffDelayMs', () => {
  it('doubles per attempt from the base, up to the cap', () => {
    const fixed = { baseMs: 50, maxMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(n, fixed))).toEqual([
      50, 100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('draws the jittered share at random, within [fixed part, full delay]', () => {
    expect(backoffDelayMs(3, { baseMs: 100, jitter: 0.5, random: () => 0 })).toBe(200);
    expect(backoffDelayMs(3, { baseMs: 100, jitter: 0.5, random: () => 1 })).toBe(400);
    expect(backoffDelayMs(3, { baseMs: 100, jitter: 1, random: () => 0.25 })).toBe(100);
  });

  it('treats attempt 0 or less as the first retry', () => {
    expect(backoffDelayMs(0, { baseMs: 70, jitter: 0 })).toBe(70);
  });
});
