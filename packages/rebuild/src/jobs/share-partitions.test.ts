import { expect, it } from 'vitest';
import { sharePartitions } from './share-partitions.js';

it('covers every partition once, in near-equal contiguous ranges', () => {
  expect(sharePartitions(8, 2)).toEqual([
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ]);
  const ranges = sharePartitions(32, 3);
  expect(ranges.flat()).toEqual([...Array(32).keys()]);
  expect(ranges.map((r) => r.length)).toEqual([10, 11, 11]);
  expect(sharePartitions(2, 5)).toEqual([[0], [1]]);
  expect(sharePartitions(4, 0)).toEqual([[0, 1, 2, 3]]);
});
