/** Splits partitions 0..count-1 into `shares` contiguous ranges of near-equal size. */
export function sharePartitions(count: number, shares: number): number[][] {
  const n = Math.max(1, Math.min(shares, count));
  return Array.from({ length: n }, (_, i) => {
    const from = Math.floor((i * count) / n);
    const to = Math.floor(((i + 1) * count) / n);
    return Array.from({ length: to - from }, (_, k) => from + k);
  });
}
