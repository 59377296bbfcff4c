import { counterKey } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { withScripts } from './scripts.js';

const CHECKPOINT_FIELD = '~checkpoint';

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
 * one key). Returns false, having written nothing, when the checkpoint was
 * not at `from`.
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
): Promise<boolean> {
  const pairs: (string | number)[] = [];
  for (const [field, delta] of Object.entries(increments)) {
    if (field === CHECKPOINT_FIELD) throw new Error(`${CHECKPOINT_FIELD} is reserved`);
    if (!Number.isSafeInteger(delta)) throw new Error(`increment of ${field} must be an integer`);
    pairs.push(field, delta);
  }
  const key = counterKey(prefix, projection, version, partition);
  return (await withScripts(redis).refractCounterApply(key, from, to, ...pairs)) === 1;
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
    const hash = await redis.hgetall(counterKey(prefix, projection, version, p));
    for (const [field, value] of Object.entries(hash)) {
      if (field === CHECKPOINT_FIELD) continue;
      totals[field] = (totals[field] ?? 0) + Number(value);
    }
  }
  return totals;
}
