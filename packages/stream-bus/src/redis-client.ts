import { backoffDelayMs, parseRedisUrl } from '@refract/core';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/**
 * A connection to Refract's Redis: one server, or a Redis Cluster. Every
 * function of this package takes either; each command it sends touches the
 * keys of one hash slot, so a cluster routes it whole.
 */
export type RedisClient = Redis | Cluster;

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
  /** Extra ioredis options (for a cluster: of each node's connection), for tests and special set-ups. */
  overrides?: RedisOptions;
}

// Reconnect quickly at first (100 ms), then every 2 s at most, forever. Jittered, so the
// workers and relays that lost one Redis together do not all reconnect in the same instant.
const backoff = (attempt: number) => backoffDelayMs(attempt, { baseMs: 100, maxMs: 2000 });

/**
 * A Redis connection with the defaults Refract runs on in production. A
 * `redis+cluster://host:port,…` URL gives an ioredis Cluster seeded with
 * those nodes (see parseRedisUrl), anything else a single connection.
 */
export function createRedisClient(url: string, options: RedisClientOptions = {}): RedisClient {
  const failFast = options.failFast ?? true;
  const target = parseRedisUrl(url);
  const connection: RedisOptions = {
    connectionName: options.name ?? 'refract',
    maxRetriesPerRequest: failFast ? 0 : 20,
  };
  const redis = target.cluster
    ? new Cluster(target.nodes, {
        enableOfflineQueue: !failFast,
        clusterRetryStrategy: backoff,
        redisOptions: {
          ...connection,
          username: target.username,
          password: target.password,
          tls: target.tls ? {} : undefined,
          ...options.overrides,
        },
      })
    : new Redis(url, {
        ...connection,
        enableOfflineQueue: !failFast,
        retryStrategy: backoff,
        ...options.overrides,
      });
  // Without a listener ioredis prints every reconnect failure to stderr.
  redis.on('error', (error: Error) => options.onError?.(error));
  return redis;
}

/**
 * Another connection to the same Redis, with the same options: for a
 * blocking read (XREAD BLOCK) that must not hold up the shared connection.
 * A cluster's copy opens a node's connection only when a command goes there,
 * so a reader of one partition connects to that partition's master.
 */
export function duplicateClient(redis: RedisClient, onError?: (error: Error) => void): RedisClient {
  const copy = redis instanceof Cluster ? redis.duplicate() : redis.duplicate();
  copy.on('error', (error: Error) => onError?.(error));
  return copy;
}

/**
 * The connections of every master: the cluster's, or the one server. For
 * what a cluster cannot route by key: SCAN, DBSIZE, FLUSHALL each see one
 * node only, so they are sent to every master.
 */
export function masterNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * Deletes every key that starts with `prefix`, on every master. Keys are
 * unlinked one per command, since the keys one SCAN returns may lie in
 * different slots.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) {
        const replies = (await node.pipeline(keys.map((key) => ['unlink', key])).exec()) ?? [];
        for (const [error, count] of replies) {
          if (error) throw error;
          deleted += Number(count);
        }
      }
      cursor = next;
    } while (cursor !== '0');
  }
  return deleted;
}

/**
 * Resolves true once the connection is ready, false after `timeoutMs`.
 * A fail-fast connection refuses commands until then, so loops wait here
 * first rather than count a connection still being set up as an outage.
 */
export function waitUntilReady(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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
