import { describe, expect, it } from 'vitest';
import { defineCounterProjection, defineProjection } from './projection.js';

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

describe('defineCounterProjection compare', () => {
  const counter = { name: 'counts', version: 1, handles: ['A'], increments: () => ({}) };

  it('keeps the counters declared', () => {
    const p = defineCounterProjection({ ...counter, compare: { counters: ['placed'] } });
    expect(p.compare).toEqual({ counters: ['placed'] });
  });

  it('refuses an empty list or a reserved field', () => {
    expect(() => defineCounterProjection({ ...counter, compare: { counters: [] } })).toThrow(
      /compare names no counter/,
    );
    expect(() =>
      defineCounterProjection({ ...counter, compare: { counters: ['~checkpoint'] } }),
    ).toThrow(/reserved/);
  });
});
