import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestRedisNamespace {
  url: string;
  /** Every key a test writes starts with this prefix; `cleanup()` deletes them all. */
  prefix: string;
  cleanup(): Promise<void>;
}

/** A unique key prefix on the shared test Redis (or the one at `url`), removed again by `cleanup()`. */
export function createTestRedisNamespace(label = 'test', url = TEST_REDIS_URL): TestRedisNamespace {
  const prefix = `refract-test-${label}-${randomUUID().slice(0, 8)}:`;
  return {
    url,
    prefix,
    async cleanup() {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          if (keys.length > 0) await redis.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
