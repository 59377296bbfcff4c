// The grammar lives in core (so service-kit can check REDIS_URL); still offered here, beside the factory.
export { parseRedisUrl, type RedisTarget } from '@refract/core';
export {
  applyCounterBatch,
  type CounterApply,
  counterCheckpoint,
  counterVersions,
  deleteCounters,
  freezeCounters,
  readCounters,
  readPartitionCounters,
  unfreezeCounters,
} from './counters.js';
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
export {
  createRedisClient,
  deleteKeysWithPrefix,
  duplicateClient,
  masterNodes,
  type RedisClient,
  type RedisClientOptions,
  waitUntilReady,
} from './redis-client.js';
