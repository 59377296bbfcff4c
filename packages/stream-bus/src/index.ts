export { applyCounterBatch, counterCheckpoint, readCounters } from './counters.js';
export { decodeEntry, type PartitionEntry, type ReceivedEntry } from './entry.js';
export {
  counterKey,
  entryIdOf,
  memberInfoKey,
  partitionLeaseKey,
  partitionStreamKey,
  poolMembersKey,
  positionOfEntryId,
} from './keys.js';
export {
  assignPartitions,
  type MemberInfo,
  type PoolMember,
  PoolMembership,
  type PoolMembershipOptions,
  readLeaseHolders,
  readPoolMembers,
} from './leases.js';
export { type PublishOptions, type PublishResult, publishEntries } from './publish.js';
export { readPartitionStream } from './read.js';
export { createRedisClient, type RedisClientOptions, waitUntilReady } from './redis-client.js';
