import { fnv1a32 } from '@refract/core';
import { partitionLeaseKey, poolMembersKey } from './keys.js';
import type { RedisClient } from './redis-client.js';
import { withScripts } from './scripts.js';

export interface PoolMembershipOptions {
  keyPrefix: string;
  pool: string;
  memberId: string;
  /** A member, and a lease, not renewed within this time is gone. @defaultValue 5000 */
  ttlMs?: number;
}

/**
 * A worker's view of its pool: heartbeats into the member set, partition
 * leases, and the deterministic assignment of partitions to live members.
 */
export class PoolMembership {
  readonly ttlMs: number;
  private readonly redis: ReturnType<typeof withScripts>;

  constructor(
    redis: RedisClient,
    private readonly options: PoolMembershipOptions,
  ) {
    this.redis = withScripts(redis);
    this.ttlMs = options.ttlMs ?? 5000;
  }

  /** Marks this member alive; returns every live member. */
  heartbeat(): Promise<string[]> {
    return this.redis.refractHeartbeat(
      poolMembersKey(this.options.keyPrefix, this.options.pool),
      this.options.memberId,
      this.ttlMs,
    );
  }

  /** Leaves the pool at once, so the others rebalance without waiting for the TTL. */
  async leave(): Promise<void> {
    await this.redis.zrem(
      poolMembersKey(this.options.keyPrefix, this.options.pool),
      this.options.memberId,
    );
  }

  /** Takes or renews the lease of a partition; false when another member holds it. */
  async acquire(partition: number): Promise<boolean> {
    const key = partitionLeaseKey(this.options.keyPrefix, this.options.pool, partition);
    return (await this.redis.refractLeaseAcquire(key, this.options.memberId, this.ttlMs)) === 1;
  }

  async release(partition: number): Promise<void> {
    const key = partitionLeaseKey(this.options.keyPrefix, this.options.pool, partition);
    await this.redis.refractLeaseRelease(key, this.options.memberId);
  }

  /** The member holding a partition's lease, or null. */
  holder(partition: number): Promise<string | null> {
    return this.redis.get(partitionLeaseKey(this.options.keyPrefix, this.options.pool, partition));
  }
}

/**
 * Rendezvous (highest random weight) hashing: each partition goes to the
 * member with the highest hash of (member, partition). Every member computes
 * the same answer from the same member list, and a join or leave moves only
 * the partitions that member wins or held.
 */
export function assignPartitions(
  members: readonly string[],
  partitions: number,
): Map<number, string> {
  const owners = new Map<number, string>();
  const seeds = members.map((member) => fnv1a32(member));
  for (let p = 0; p < partitions; p++) {
    let best: string | undefined;
    let bestWeight = -1;
    for (const [i, member] of members.entries()) {
      const weight = mix32(seeds[i]! ^ Math.imul(p + 1, 0x9e3779b9));
      if (weight > bestWeight || (weight === bestWeight && best !== undefined && member < best)) {
        best = member;
        bestWeight = weight;
      }
    }
    if (best !== undefined) owners.set(p, best);
  }
  return owners;
}

/**
 * MurmurHash3's finaliser. FNV-1a alone is a poor weight here: ids that share
 * a suffix get correlated weights, and one member can win every partition.
 */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
