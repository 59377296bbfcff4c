/**
 * Redis key names. Every key that belongs to a partition carries the
 * partition in a hash tag (`{7}`), so a Redis Cluster spreads partitions
 * over its slots and every command touches keys of one partition only.
 */
export function partitionStreamKey(prefix: string, partition: number): string {
  return `${prefix}events:{${partition}}`;
}

/** The stream entry id of a position: ids are positions, so Redis itself refuses a second copy. */
export function entryIdOf(position: number): string {
  return `${position}-0`;
}

export function positionOfEntryId(id: string): number {
  const dash = id.indexOf('-');
  return Number(dash === -1 ? id : id.slice(0, dash));
}

/** The live members of a worker pool. Pool-wide, so its hash tag names the pool. */
export function poolMembersKey(prefix: string, pool: string): string {
  return `${prefix}members:{pool-${pool}}`;
}

/** What a pool member tells about itself (host, pid, heartbeat); beside the member set in its slot. */
export function memberInfoKey(prefix: string, pool: string, memberId: string): string {
  return `${prefix}member:{pool-${pool}}:${memberId}`;
}

/** The lease of one partition in one pool; tagged with the partition like its stream. */
export function partitionLeaseKey(prefix: string, pool: string, partition: number): string {
  return `${prefix}lease:${pool}:{${partition}}`;
}

/** The counters of one counter projection version on one partition (checkpoint included). */
export function counterKey(
  prefix: string,
  projection: string,
  version: number,
  partition: number,
): string {
  return `${prefix}counter:${projection}:v${version}:{${partition}}`;
}
