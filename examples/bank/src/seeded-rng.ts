// The bank workload's own PRNG (mulberry32): reproducible across runs,
// machines and Node versions, which Math.random is not.

export interface SeededRng {
  /** A uniform float in [0, 1). */
  next(): number;
  /** A uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** A uniform 32-bit unsigned integer. */
  uint32(): number;
}

export function seededRng(seed: number): SeededRng {
  let state = seed | 0;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = () => uint32() / 4294967296;
  return { next, int: (min, max) => min + Math.floor(next() * (max - min + 1)), uint32 };
}
