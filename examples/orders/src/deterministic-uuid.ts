import { mix32 } from './seeded-random.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(word: number): string {
  return (
    HEX[(word >>> 24) & 0xff]! +
    HEX[(word >>> 16) & 0xff]! +
    HEX[(word >>> 8) & 0xff]! +
    HEX[word & 0xff]!
  );
}

/**
 * A UUID v4-shaped id that depends only on (seed, index). Its first 32 bits
 * are a bijection of the index for a given seed, so ids of one seed never
 * collide for index < 2^32; the rest is mixed noise.
 */
export function deterministicUuid(seed: number, index: number): string {
  const salt = mix32(seed ^ 0x5bd1e995);
  const w0 = mix32((index ^ salt) >>> 0);
  const w1 = mix32(w0 ^ salt ^ 0x68e31da4);
  const w2 = mix32(w1 + index);
  const w3 = mix32(w2 ^ salt);
  // Version 4 in the 13th hex digit, RFC 4122 variant (10xx) in the 17th.
  const v1 = ((w1 & 0xffff0fff) | 0x00004000) >>> 0;
  const v2 = ((w2 & 0x3fffffff) | 0x80000000) >>> 0;
  const h1 = hex32(v1);
  const h2 = hex32(v2);
  return `${hex32(w0)}-${h1.slice(0, 4)}-${h1.slice(4)}-${h2.slice(0, 4)}-${h2.slice(4)}${hex32(w3)}`;
}
