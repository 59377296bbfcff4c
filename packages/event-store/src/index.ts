// Moved to core so service-kit needs no store to map a lost database to 503; still offered here.
export { isConnectionError } from '@refract/core';
export {
  type CommandIdempotency,
  type CommandResult,
  type HandleCommandOptions,
  handleCommand,
  type LoadedState,
  loadState,
} from './aggregate.js';
export {
  type AppendRequest,
  MAX_EVENTS_PER_APPEND,
  type PreparedEvent,
  parseAppendRequest,
  parseExpectedVersion,
} from './append-request.js';
export {
  EventStore,
  type EventStoreOptions,
  type ReadAllOptions,
  type ReadStreamOptions,
  type StreamSlice,
} from './event-store.js';
export { EVENTS_CHANNEL, type GroupCommitOptions } from './group-commit.js';
export { readHeadPosition } from './head-position.js';
export {
  assertIdempotencyKey,
  DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS,
  type IdempotencyClaim,
  type KeyedAppendOutcome,
  requestHash,
  type StoredCommandKey,
} from './idempotency-keys.js';
export { loadStatements } from './load-statements.js';
export { type MigrateOptions, type MigrateResult, migrate } from './migrate.js';
export { createPool, type PoolOptions } from './pg-pool.js';
export { DEFAULT_PARTITIONS, readPartitionCount } from './settings.js';
export { assertStorableJson, MAX_JSON_DEPTH } from './storable-json.js';
export { withTransaction } from './transaction.js';
