import type { RedisClient } from '@refract/stream-bus';

/** One entry of the floor's stream: its id and its fields (position, stream, event). */
export type FloorEntry = [id: string, fields: string[]];

/**
 * One XREAD of the floor's stream after `lastId`, blocking up to 100 ms;
 * the entries, or none. The client must speak RESP2 (a list of [key,
 * entries] pairs).
 */
export async function readFloorStream(
  redis: RedisClient,
  streamKey: string,
  lastId: string,
  count: number,
): Promise<FloorEntry[]> {
  const reply = (await redis.call(
    'XREAD',
    'COUNT',
    String(count),
    'BLOCK',
    '100',
    'STREAMS',
    streamKey,
    lastId,
  )) as [key: string, entries: FloorEntry[]][] | null;
  return reply?.[0]?.[1] ?? [];
}
