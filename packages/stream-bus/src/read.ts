import { decodeEntry, type ReceivedEntry } from './entry.js';
import { entryIdOf, partitionStreamKey } from './keys.js';
import type { RedisClient } from './redis-client.js';

/** Reads a partition stream after a position, oldest first. */
export async function readPartitionStream(
  redis: RedisClient,
  keyPrefix: string,
  partition: number,
  afterPosition: number,
  count = 1000,
): Promise<ReceivedEntry[]> {
  const entries = await redis.xrange(
    partitionStreamKey(keyPrefix, partition),
    `(${entryIdOf(afterPosition)}`,
    '+',
    'COUNT',
    count,
  );
  return entries.map(([id, fields]) => decodeEntry(id, fields));
}
