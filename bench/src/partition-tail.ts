import {
  createRedisClient,
  duplicateClient,
  parseRedisUrl,
  partitionStreamKey,
  positionOfEntryId,
  type RedisClient,
} from '@refract/stream-bus';

type XreadReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/** How long one XREAD blocks; bounds how long stop() waits. */
const BLOCK_MS = 100;

/**
 * Tails every partition stream under a prefix with XREAD BLOCK on its own
 * connection, and notes the moment each position became visible to a
 * reader: when the XREAD that carried it returned. One XREAD names every
 * stream on a single server; on a Redis Cluster, where that is refused
 * (CROSSSLOT), each partition has its own blocking reader and connection.
 */
export class PartitionTail {
  /** performance.now() at which each position was first read. */
  readonly seenAt = new Map<number, number>();
  /** Positions read more than once (a double publication). */
  readonly duplicates: number[] = [];
  private readonly redis: RedisClient;
  private readonly cluster: boolean;
  private readonly keys: string[];
  private readonly lastIds: string[];
  private stopping = false;
  private running: Promise<void> | undefined;
  /** What stopped the loop early, if anything did. */
  failure: unknown;

  constructor(redisUrl: string, keyPrefix: string, partitions: number) {
    // RESP2 keeps XREAD's reply a list of [key, entries] pairs.
    this.redis = createRedisClient(redisUrl, {
      name: 'refract-bench-tail',
      failFast: false,
      overrides: { protocol: 2 },
    });
    this.cluster = parseRedisUrl(redisUrl).cluster;
    this.keys = Array.from({ length: partitions }, (_, p) => partitionStreamKey(keyPrefix, p));
    this.lastIds = this.keys.map(() => '0-0');
  }

  async start(): Promise<void> {
    await this.redis.ping();
    const all = this.keys.map((_, i) => i);
    const loops = this.cluster
      ? all.map((i) => this.loop([i], duplicateClient(this.redis)))
      : [this.loop(all, this.redis)];
    this.running = Promise.all(loops).then(
      () => {},
      (error: unknown) => {
        this.failure = error;
        throw error;
      },
    );
    this.running.catch(() => {});
  }

  /** Stops after the XREAD in flight returns; rethrows what stopped the loop, if anything did. */
  async stop(): Promise<void> {
    this.stopping = true;
    try {
      await this.running;
    } finally {
      this.redis.disconnect();
    }
  }

  private async loop(indexes: number[], redis: RedisClient): Promise<void> {
    try {
      while (!this.stopping) {
        const reply = (await redis.call(
          'XREAD',
          'COUNT',
          '10000',
          'BLOCK',
          String(BLOCK_MS),
          'STREAMS',
          ...indexes.map((i) => this.keys[i]!),
          ...indexes.map((i) => this.lastIds[i]!),
        )) as XreadReply;
        const now = performance.now();
        for (const [key, entries] of reply ?? []) {
          const index = this.keys.indexOf(key);
          for (const [id] of entries) {
            const position = positionOfEntryId(id);
            if (this.seenAt.has(position)) this.duplicates.push(position);
            else this.seenAt.set(position, now);
          }
          const last = entries[entries.length - 1];
          if (last) this.lastIds[index] = last[0];
        }
      }
    } finally {
      if (redis !== this.redis) redis.disconnect();
    }
  }
}
