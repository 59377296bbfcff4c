import { describe, expect, it } from 'vitest';
import { assignPartitions } from './leases.js';

const ids = (n: number, host = 'vm-1234') =>
  Array.from({ length: n }, (_, i) => `${host}-${(0x1000 + i * 7919).toString(16)}`);

describe('assignPartitions', () => {
  it('gives every partition one owner, the same from any order of the member list', () => {
    const members = ids(3);
    const owners = assignPartitions(members, 32);
    expect(owners.size).toBe(32);
    expect(assignPartitions([...members].reverse(), 32)).toEqual(owners);
  });

  it('spreads partitions over members whose ids differ only slightly', () => {
    for (const n of [2, 3, 4]) {
      const counts = new Map<string, number>();
      for (const owner of assignPartitions(ids(n), 32).values()) {
        counts.set(owner, (counts.get(owner) ?? 0) + 1);
      }
      expect(counts.size).toBe(n);
      for (const count of counts.values()) expect(count).toBeGreaterThanOrEqual(32 / n / 3);
    }
  });

  it('moves only the partitions a joining member wins', () => {
    const before = assignPartitions(ids(3), 64);
    const after = assignPartitions(ids(4), 64);
    const newcomer = ids(4)[3]!;
    for (const [p, owner] of after) {
      if (owner !== newcomer) expect(owner).toBe(before.get(p));
    }
  });

  it('assigns nothing without members', () => {
    expect(assignPartitions([], 8).size).toBe(0);
  });
});
