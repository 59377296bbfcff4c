export { type BackoffOptions, backoffDelayMs } from './backoff.js';
export { type AnyCommandRoute, type CommandRoute, commandRoute } from './command.js';
export { isConnectionError } from './connection-error.js';
export {
  type Decider,
  type DeciderDefinition,
  type DomainEvent,
  defineDecider,
  foldEvents,
} from './decider.js';
export type {
  AppendResult,
  ExpectedVersion,
  JsonObject,
  JsonValue,
  NewEvent,
  RecordedEvent,
} from './envelope.js';
export {
  ConcurrencyRetriesExhaustedError,
  DependencyUnavailableError,
  type ErrorCode,
  httpStatusOf,
  IdempotencyConflictError,
  InvalidInputError,
  RefractError,
  RuleViolatedError,
  StreamNotFoundError,
  UnknownCommandError,
  WrongExpectedVersionError,
} from './errors.js';
export { fnv1a32, partitionOf } from './partition.js';
export {
  type AnyProjection,
  batchContext,
  type CounterProjection,
  defineCounterProjection,
  defineProjection,
  isCounterProjection,
  PROJECTIONS_SCHEMA,
  type Projection,
  type ProjectionContext,
  type ProjectionDefinition,
  type SqlExecutor,
  type SqlStatement,
  versionedTable,
} from './projection.js';
export { parseRedisUrl, type RedisTarget } from './redis-url.js';
export {
  assertStreamId,
  EVENT_TYPE_MAX_LENGTH,
  EVENT_TYPE_PATTERN,
  STREAM_ID_MAX_LENGTH,
  STREAM_ID_PATTERN,
} from './stream-id.js';
export { type Upcaster, UpcasterRegistry, type UpcastInput } from './upcasters.js';
