// What the hop floor's processes share: their arguments and the read of its stream.

import type { RedisClient } from '@refract/stream-bus';

/** What the hop floor passes each of its processes. */
export interface FloorProcessArgs {
  databaseUrl: string;
  redisUrl: string;
  streamKey: string;
  channel: string;
}

/** The floor process's arguments (databaseUrl redisUrl streamKey channel), or a usage error naming it. */
export function floorProcessArgs(name: string): FloorProcessArgs {
  const args = process.argv.slice(2);
  if (args.length !== 4 || args.some((arg) => !arg)) {
    throw new Error(`usage: ${name} <databaseUrl> <redisUrl> <streamKey> <channel>`);
  }
  const [databaseUrl, redisUrl, streamKey, channel] = args as [string, string, string, string];
  return { databaseUrl, redisUrl, streamKey, channel };
}

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
