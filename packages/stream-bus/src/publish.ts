import type { PartitionEntry } from './entry.js';
import { entryIdOf, partitionStreamKey } from './keys.js';
import type { RedisClient } from './redis-client.js';

export interface PublishOptions {
  keyPrefix: string;
  /** Keep about this many entries per partition stream (XADD MAXLEN ~). */
  windowSize: number;
}

export interface PublishResult {
  /** Entries added now. */
  added: number;
  /** Entries Redis refused because their id was not above the stream's top: published before. */
  alreadyPublished: number;
}

const ALREADY_PUBLISHED = /equal or smaller than the target stream top item/;

/**
 * Publishes entries with XADD, the id being the position. Entries must come
 * in position order. On one Redis server they go in one pipeline (one write
 * on the socket per round, which is what the fan-out latency pays for); on a
 * cluster, one pipeline per partition, so no pipeline crosses a hash slot.
 * A re-publication after a crash is refused by Redis (the id is not above
 * the top) and counted as already published, not as an error.
 */
export async function publishEntries(
  redis: RedisClient,
  entries: readonly PartitionEntry[],
  options: PublishOptions,
): Promise<PublishResult> {
  const groups: (readonly PartitionEntry[])[] = [];
  if (redis.isCluster) {
    const byPartition = new Map<number, PartitionEntry[]>();
    for (const entry of entries) {
      const list = byPartition.get(entry.partition);
      if (list) list.push(entry);
      else byPartition.set(entry.partition, [entry]);
    }
    groups.push(...byPartition.values());
  } else if (entries.length > 0) {
    groups.push(entries);
  }
  const window = String(options.windowSize);
  const results = await Promise.all(
    groups.map(async (list) => {
      const pipeline = redis.pipeline();
      for (const entry of list) {
        pipeline.xadd(
          partitionStreamKey(options.keyPrefix, entry.partition),
          'MAXLEN',
          '~',
          window,
          entryIdOf(entry.position),
          'prev',
          String(entry.prev),
          'event',
          entry.event,
        );
      }
      const replies = (await pipeline.exec()) ?? [];
      let added = 0;
      let alreadyPublished = 0;
      for (const [error] of replies) {
        if (!error) added += 1;
        else if (ALREADY_PUBLISHED.test(error.message)) alreadyPublished += 1;
        else throw error;
      }
      if (replies.length !== list.length) throw new Error('pipeline lost replies');
      return { added, alreadyPublished };
    }),
  );
  return results.reduce(
    (sum, r) => ({
      added: sum.added + r.added,
      alreadyPublished: sum.alreadyPublished + r.alreadyPublished,
    }),
    { added: 0, alreadyPublished: 0 },
  );
}
