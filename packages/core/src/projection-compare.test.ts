import { describe, expect, it } from 'vitest';
import { defineProjection } from './projection.js';

const base = {
  name: 'stats',
  version: 1,
  handles: ['A'],
  tables: ['stats'],
  setup: () => '',
  async applyBatch() {},
};

describe('defineProjection compare', () => {
  it('keeps a comparison declared for one of its tables', () => {
    const p = defineProjection({ ...base, compare: { stats: { key: ['id'], columns: ['n'] } } });
    expect(p.compare).toEqual({ stats: { key: ['id'], columns: ['n'] } });
    expect(defineProjection(base).compare).toBeUndefined();
  });

  it('refuses a comparison of a table it does not have, or without a key', () => {
    expect(() => defineProjection({ ...base, compare: { other: { key: ['id'] } } })).toThrow(
      /compare names table other/,
    );
    expect(() => defineProjection({ ...base, compare: { stats: { key: [] } } })).toThrow(
      /compare names table stats without a key/,
    );
  });
});
