import { fnv1a32 } from '@refract/core';
import type { Redis } from 'ioredis';
import { memberInfoKey, partitionLeaseKey, poolMembersKey } from './keys.js';
import { withScripts } from './scripts.js';

/** What a member publishes about itself each heartbeat, for operators (the admin API). */
export interface MemberInfo {
  host: string;
  pid: number;
  /** ISO time of the member's last heartbeat, on its own clock. */
  lastHeartbeat: string;
}

/** A live member of a pool as the admin API shows it. */
export interface PoolMember {
  id: string;
  pool: string;
  /** Null when the member published no info (an older worker). */
  host: string | null;
  pid: number | null;
  /** The partitions whose lease it holds. */
  partitions: number[];
  lastHeartbeat: string | null;
}

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
    redis: Redis,
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

  /** Publishes this member's info, expiring with its membership. */
  async announce(info: MemberInfo): Promise<void> {
    await this.redis.set(
      memberInfoKey(this.options.keyPrefix, this.options.pool, this.options.memberId),
      JSON.stringify(info),
      'PX',
      this.ttlMs,
    );
  }

  /** Leaves the pool at once, so the others rebalance without waiting for the TTL. */
  async leave(): Promise<void> {
    await this.redis.zrem(
      poolMembersKey(this.options.keyPrefix, this.options.pool),
      this.options.memberId,
    );
    await this.redis.del(
      memberInfoKey(this.options.keyPrefix, this.options.pool, this.options.memberId),
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
 * The live members of a pool (expiry after the Redis server's clock), what
 * they published about themselves, and the partitions whose lease each
 * holds. Reads only: for operators, never for ownership decisions.
 */
export async function readPoolMembers(
  redis: Redis,
  options: { keyPrefix: string; pool: string; partitions: number },
): Promise<PoolMember[]> {
  const { keyPrefix, pool, partitions } = options;
  const [seconds, micros] = await redis.time();
  const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  const ids = await redis.zrangebyscore(poolMembersKey(keyPrefix, pool), `(${nowMs}`, '+inf');
  if (ids.length === 0) return [];
  const infos = await redis.mget(...ids.map((id) => memberInfoKey(keyPrefix, pool, id)));
  const holders = await readLeaseHolders(redis, { keyPrefix, pool, partitions });
  const owned = new Map<string, number[]>(ids.map((id) => [id, []]));
  holders.forEach((holder, partition) => {
    if (holder) owned.get(holder)?.push(partition);
  });
  return ids.map((id, i) => {
    const info = parseInfo(infos[i] ?? null);
    return {
      id,
      pool,
      host: info?.host ?? null,
      pid: info?.pid ?? null,
      partitions: owned.get(id) ?? [],
      lastHeartbeat: info?.lastHeartbeat ?? null,
    };
  });
}

function parseInfo(text: string | null): MemberInfo | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as MemberInfo;
  } catch {
    return null;
  }
}

/** The holder of each partition's lease in a pool (null when none), for operators. */
export async function readLeaseHolders(
  redis: Redis,
  options: { keyPrefix: string; pool: string; partitions: number },
): Promise<(string | null)[]> {
  const leases = redis.pipeline();
  for (let p = 0; p < options.partitions; p++) {
    leases.get(partitionLeaseKey(options.keyPrefix, options.pool, p));
  }
  const holders = (await leases.exec()) ?? [];
  return holders.map(([error, holder]) => (!error && typeof holder === 'string' ? holder : null));
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
