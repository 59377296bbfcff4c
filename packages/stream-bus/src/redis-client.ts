import { Redis, type RedisOptions } from 'ioredis';

export interface RedisClientOptions {
  /** Shows in CLIENT LIST, so operators can tell Refract's connections apart. */
  name?: string;
  /**
   * Fail commands at once while disconnected instead of queueing them. Loops
   * that retry on their own (the relay, workers) want this: a queue would
   * hide an outage and grow without bound.
   * @defaultValue true
   */
  failFast?: boolean;
  /** Called for connection errors; ioredis reconnects by itself. */
  onError?: (error: Error) => void;
  /** Extra ioredis options, for tests and special set-ups. */
  overrides?: RedisOptions;
}

/** A Redis connection with the defaults Refract runs on in production. */
export function createRedisClient(url: string, options: RedisClientOptions = {}): Redis {
  const failFast = options.failFast ?? true;
  const redis = new Redis(url, {
    connectionName: options.name ?? 'refract',
    enableOfflineQueue: !failFast,
    maxRetriesPerRequest: failFast ? 0 : 20,
    // Reconnect quickly at first, then every 2 s at most, forever.
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 6), 2000),
    ...options.overrides,
  });
  // Without a listener ioredis prints every reconnect failure to stderr.
  redis.on('error', (error: Error) => options.onError?.(error));
  return redis;
}

/**
 * Resolves true once the connection is ready, false after `timeoutMs`.
 * A fail-fast connection refuses commands until then, so loops wait here
 * first rather than count a connection still being set up as an outage.
 */
export function waitUntilReady(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}
