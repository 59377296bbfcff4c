import { counterKey } from './keys.js';
import { masterNodes, type RedisClient } from './redis-client.js';
import { withScripts } from './scripts.js';

const CHECKPOINT_FIELD = '~checkpoint';
/** Set by a rebuild's swap on the version it retires: no batch applies to the hash any more. */
const FROZEN_FIELD = '~frozen';
/** Fields of ours in a counters hash, never counters. */
const RESERVED = '~';

/** What became of a batch: applied, or refused with nothing written. */
export type CounterApply = 'applied' | 'moved' | 'frozen';
const APPLY_ANSWERS: Record<number, CounterApply> = { 1: 'applied', 0: 'moved', [-1]: 'frozen' };

/** The checkpoint of a counter projection on one partition (0 when the hash is gone). */
export async function counterCheckpoint(
  redis: RedisClient,
  prefix: string,
  projection: string,
  version: number,
  partition: number,
): Promise<number> {
  const value = await redis.hget(
    counterKey(prefix, projection, version, partition),
    CHECKPOINT_FIELD,
  );
  return value === null ? 0 : Number(value);
}

/**
 * Applies increments and moves the checkpoint atomically (one Lua script on
 * one key). Writes nothing and answers 'moved' when the checkpoint was not at
 * `from`, 'frozen' when a rebuild's swap froze the hash (see freezeCounters).
 */
export async function applyCounterBatch(
  redis: RedisClient,
  prefix: string,
  projection: string,
  version: number,
  partition: number,
  from: number,
  to: number,
  increments: Record<string, number>,
): Promise<CounterApply> {
  const pairs: (string | number)[] = [];
  for (const [field, delta] of Object.entries(increments)) {
    if (field.startsWith(RESERVED))
      throw new Error(`fields starting with ${RESERVED} are reserved`);
    if (!Number.isSafeInteger(delta)) throw new Error(`increment of ${field} must be an integer`);
    pairs.push(field, delta);
  }
  const key = counterKey(prefix, projection, version, partition);
  return APPLY_ANSWERS[await withScripts(redis).refractCounterApply(key, from, to, ...pairs)]!;
}

/**
 * Freezes one partition of a version: every later batch on it is refused
 * ('frozen'), so the checkpoint returned (read in the same script) is final.
 */
export async function freezeCounters(
  redis: RedisClient,
  prefix: string,
  projection: string,
  version: number,
  partition: number,
): Promise<number> {
  const key = counterKey(prefix, projection, version, partition);
  return withScripts(redis).refractCounterFreeze(key);
}

export async function unfreezeCounters(
  redis: RedisClient,
  prefix: string,
  projection: string,
  version: number,
  partition: number,
): Promise<void> {
  await redis.hdel(counterKey(prefix, projection, version, partition), FROZEN_FIELD);
}

/** Removes a version's hashes, counters and checkpoints, on every partition. */
export async function deleteCounters(
  redis: RedisClient,
  prefix: string,
  projection: string,
  version: number,
  partitions: number,
): Promise<void> {
  // One key per command: the partitions' hashes sit in different cluster slots.
  for (let p = 0; p < partitions; p++) {
    await redis.unlink(counterKey(prefix, projection, version, p));
  }
}

/** The versions of a counter projection that have a hash in Redis (a SCAN of every master). */
export async function counterVersions(
  redis: RedisClient,
  prefix: string,
  projection: string,
): Promise<number[]> {
  const head = counterKey(prefix, projection, 0, 0).replace(/v0:\{0\}$/, 'v');
  const glob = head.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
  const versions = new Set<number>();
  for (const node of masterNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${glob}*`, 'COUNT', 1000);
      for (const key of keys) {
        const version = /^v(\d+):/.exec(key.slice(head.length - 1))?.[1];
        if (version !== undefined) versions.add(Number(version));
      }
      cursor = next;
    } while (cursor !== '0');
  }
  return [...versions].sort((a, b) => a - b);
}

/** The counters of one partition, without the hash's own fields (checkpoint, freeze). */
export async function readPartitionCounters(
  redis: RedisClient,
  prefix: string,
  projection: string,
  version: number,
  partition: number,
): Promise<Record<string, number>> {
  const counters: Record<string, number> = {};
  const hash = await redis.hgetall(counterKey(prefix, projection, version, partition));
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(RESERVED)) counters[field] = Number(value);
  }
  return counters;
}

/** The counters summed over every partition. */
export async function readCounters(
  redis: RedisClient,
  prefix: string,
  projection: string,
  version: number,
  partitions: number,
): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (let p = 0; p < partitions; p++) {
    const counters = await readPartitionCounters(redis, prefix, projection, version, p);
    for (const [field, value] of Object.entries(counters)) {
      totals[field] = (totals[field] ?? 0) + value;
    }
  }
  return totals;
}
