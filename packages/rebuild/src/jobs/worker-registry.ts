import type { Redis } from 'ioredis';
import { bullPrefix } from './queue-settings.js';

/**
 * The rebuild workers alive now: a sorted set of worker ids scored by when
 * their last heartbeat expires. The queue counts them to decide whether to
 * split a rebuild into shares. One key, under the queue's hash tag.
 */
export class WorkerRegistry {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.key = `${bullPrefix(keyPrefix)}:workers`;
  }

  async heartbeat(workerId: string, ttlMs: number): Promise<void> {
    const now = Date.now();
    await this.redis
      .multi()
      .zadd(this.key, now + ttlMs, workerId)
      .zremrangebyscore(this.key, '-inf', now)
      .exec();
  }

  async leave(workerId: string): Promise<void> {
    await this.redis.zrem(this.key, workerId);
  }

  async count(): Promise<number> {
    return this.redis.zcount(this.key, Date.now(), '+inf');
  }
}
