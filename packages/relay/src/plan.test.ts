import { describe, expect, it } from 'vitest';
import { type Gap, planPublication, type VisibleEvent } from './plan.js';

const rows = (...positions: number[]): VisibleEvent[] =>
  positions.map((position) => ({ position, partition: position % 4, envelope: '{}' }));
const snap = (xmin: number, xmax: number) => ({ xmin: BigInt(xmin), xmax: BigInt(xmax) });

describe('planPublication', () => {
  it('publishes a contiguous run after the checkpoint', () => {
    const plan = planPublication(10, rows(11, 12, 13), snap(100, 105), null, 0);
    expect(plan.publish.map((r) => r.position)).toEqual([11, 12, 13]);
    expect(plan.through).toBe(13);
    expect(plan.gap).toBeNull();
  });

  it('stops at a gap below a visible position and remembers the snapshot', () => {
    const plan = planPublication(10, rows(11, 13, 14), snap(100, 105), null, 7);
    expect(plan.publish.map((r) => r.position)).toEqual([11]);
    expect(plan.through).toBe(11);
    expect(plan.gap).toEqual({ from: 12, to: 12, horizon: null, sinceMs: 7 });
  });

  it('holds while a transaction that was running at the sighting may still commit', () => {
    const held: Gap = { from: 12, to: 12, horizon: 105n, sinceMs: 7 };
    const plan = planPublication(11, rows(13, 14), snap(104, 110), held, 20);
    expect(plan.publish).toEqual([]);
    expect(plan.gap).toBe(held);
  });

  it('publishes the filled gap in order once it commits', () => {
    const held: Gap = { from: 12, to: 12, horizon: 105n, sinceMs: 7 };
    const plan = planPublication(11, rows(12, 13, 14), snap(104, 110), held, 20);
    expect(plan.publish.map((r) => r.position)).toEqual([12, 13, 14]);
    expect(plan.gap).toBeNull();
  });

  it('never gives up a gap whose horizon is not drawn yet', () => {
    const held: Gap = { from: 12, to: 12, horizon: null, sinceMs: 7 };
    const plan = planPublication(11, rows(13), snap(1000, 1000), held, 20);
    expect(plan.skipped).toEqual([]);
    expect(plan.gap).toBe(held);
  });

  it('gives a gap up once every transaction of its sighting has ended', () => {
    const held: Gap = { from: 12, to: 13, horizon: 105n, sinceMs: 7 };
    const plan = planPublication(11, rows(14, 15), snap(105, 110), held, 20);
    expect(plan.skipped).toEqual([12, 13]);
    expect(plan.publish.map((r) => r.position)).toEqual([14, 15]);
    expect(plan.through).toBe(15);
  });

  it('does not give up positions beyond the gap it saw, which are newer', () => {
    const held: Gap = { from: 12, to: 12, horizon: 105n, sinceMs: 7 };
    // 13 was visible at the sighting; 14 is missing now but was drawn later.
    const plan = planPublication(11, rows(13, 15), snap(106, 120), held, 30);
    expect(plan.skipped).toEqual([12]);
    expect(plan.publish.map((r) => r.position)).toEqual([13]);
    expect(plan.gap).toEqual({ from: 14, to: 14, horizon: null, sinceMs: 30 });
  });

  it('waits at the head without a gap when nothing is visible yet', () => {
    const plan = planPublication(20, [], snap(1, 2), null, 0);
    expect(plan).toEqual({ publish: [], through: 20, skipped: [], gap: null });
  });
});
