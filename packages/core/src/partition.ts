/**
 * The partition of a stream: FNV-1a (32-bit) of the stream id's UTF-8 bytes,
 * modulo the partition count. It is part of the storage format: every event
 * row stores it and every partition stream in Redis is keyed by it, so it
 * must never change for an installed system. FNV-1a is chosen because it is
 * tiny, has no dependency, and spreads short ids such as `order-123` well.
 */
export function partitionOf(streamId: string, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  }
  return fnv1a32(streamId) % partitions;
}

const encoder = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
