export {
  AppConfigError,
  type AppDefinition,
  composeApps,
  type DemoCommand,
  type DemoTraffic,
  defineApp,
  isRefractApp,
  type QueryApiDefinition,
  type RefractApp,
} from './app.js';
export { type BackoffOptions, backoffDelayMs } from './backoff.js';
export {
  type AnyCommandRoute,
  type CommandDefinition,
  type CommandRoute,
  commandRoute,
  defineCommand,
} from './command.js';
export { isConnectionError, isTransientError } from './connection-error.js';
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
export { isJsonObject } from './envelope.js';
export {
  ConcurrencyRetriesExhaustedError,
  DependencyUnavailableError,
  type ErrorCode,
  EventRefusedError,
  foldEach,
  httpStatusOf,
  IdempotencyConflictError,
  IdempotencyKeyConflictError,
  InvalidEventError,
  InvalidInputError,
  ReactorNotRebuildableError,
  RefractError,
  RuleViolatedError,
  StreamNotFoundError,
  UnknownCommandError,
  WrongExpectedVersionError,
} from './errors.js';
export {
  defineEvent,
  type EventsOf,
  type EventType,
  type EventTypeOptions,
  type EventUpcaster,
} from './event-type.js';
export { issueField, parseInput } from './parse-input.js';
export { fnv1a32, partitionOf } from './partition.js';
export {
  type AnyProjection,
  batchContext,
  type CounterComparison,
  type CounterProjection,
  type CounterProjectionDefinition,
  defineCounterProjection,
  defineProjection,
  isCounterProjection,
  PROJECTIONS_SCHEMA,
  type Projection,
  type ProjectionContext,
  type ProjectionDefinition,
  type ProjectionHandlers,
  type Recorded,
  type SqlExecutor,
  type SqlStatement,
  type TableComparison,
  versionedTable,
} from './projection.js';
export {
  defineReactor,
  EffectHttpError,
  isReactor,
  isTransientEffectError,
  postJson,
  type Reactor,
  type ReactorContext,
  type ReactorDefinition,
  type ReactorHandlers,
  TransientEffectError,
} from './reactor.js';
export { parseRedisUrl, type RedisTarget } from './redis-url.js';
export { type SingleFlight, type SingleFlightOptions, singleFlight } from './single-flight.js';
export {
  assertStreamId,
  EVENT_TYPE_MAX_LENGTH,
  EVENT_TYPE_PATTERN,
  STREAM_ID_MAX_LENGTH,
  STREAM_ID_PATTERN,
} from './stream-id.js';
export { type UntilReachableOptions, untilReachable } from './until-reachable.js';
export { type Upcaster, UpcasterRegistry, type UpcastInput } from './upcasters.js';
