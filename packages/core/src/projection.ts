import type { DomainEvent } from './decider.js';
import type { RecordedEvent } from './envelope.js';

/**
 * A statement with a name: prepared once per connection, then only bound and
 * run. A batch handler runs its few statements thousands of times a minute,
 * and parsing and planning them anew was most of what its batches cost
 * Postgres. One name per text (a versioned table's name belongs in it).
 */
export interface SqlStatement {
  name: string;
  text: string;
  values?: unknown[];
}

/** The part of a database client a projection needs: pg's `client.query` fits. */
export interface SqlExecutor {
  query<Row extends Record<string, unknown> = Record<string, unknown>>(
    text: string | SqlStatement,
    values?: unknown[],
  ): Promise<{ rows: Row[]; rowCount: number | null }>;
}

export interface ProjectionContext {
  /** Runs SQL inside the batch's transaction: the checkpoint advances with these writes or not at all. */
  sql: SqlExecutor;
  /**
   * The physical, schema-qualified name of one of the projection's tables for
   * the version being written (`projections.order_summary_v2`). Always write
   * through it: a rebuild writes version v+1 beside the live v.
   */
  table(name: string): string;
  projection: string;
  version: number;
  partition: number;
}

/** The schema read models live in. */
export const PROJECTIONS_SCHEMA = 'projections';

/** `projections.<table>_v<version>`: where a version of a table lives. */
export function versionedTable(table: string, version: number): string {
  return `${PROJECTIONS_SCHEMA}.${table}_v${version}`;
}

/** The context a batch of `projection`'s `version` is applied with, on `sql` (the batch's transaction). */
export function batchContext(
  sql: SqlExecutor,
  projection: { name: string },
  version: number,
  partition: number,
): ProjectionContext {
  return {
    sql,
    table: (name) => versionedTable(name, version),
    projection: projection.name,
    version,
    partition,
  };
}

export interface Projection {
  name: string;
  /** Bump to change the tables' shape; a rebuild creates the new version beside the old. */
  version: number;
  /**
   * The worker pool that runs it. A projection may name its pool itself, or
   * the application's `pools` list it; `defineApp` fills it in.
   */
  pool?: string;
  /** Event types it reads; others advance its checkpoint without a call. */
  handles: readonly string[];
  /** Logical table names; queries read views of these names in the `projections` schema. */
  tables: readonly string[];
  /** DDL creating one version's tables (idempotent: IF NOT EXISTS), named through `table()`. */
  setup(table: (name: string) => string): string;
  /** Applies a batch of events of one partition, in position order, through `ctx.sql`. */
  applyBatch(events: RecordedEvent[], ctx: ProjectionContext): Promise<void>;
  /**
   * An event its handler keeps failing on (a deterministic error, tried
   * twice): park it and quarantine its stream, or halt the partition.
   */
  onError: 'park' | 'halt';
  /** Attempts of a batch failing on transient errors (deadlocks, lost connections) before giving up. */
  maxAttempts: number;
  /** Backoff before the first retry of a transient failure; doubles each time. */
  retryBackoffMs: number;
  /**
   * Open parked events beyond which the projection trips (pauses itself
   * until resumed). @defaultValue `REFRACT_TRIP_AFTER_PARKED`, else 100
   */
  tripAfterParked?: number;
  /**
   * The handler may be given the events of several partitions in one batch
   * (in position order, so each stream's events stay in order), and a worker
   * then applies what all its partitions have ready in one transaction:
   * far fewer commits when many partitions each have a few events. Set it
   * only for a handler that does not depend on `ctx.partition` (it is then
   * the lowest partition of the batch), and that locks rows shared between
   * partitions in one fixed order within a single statement, so that two
   * workers' batches wait for each other instead of deadlocking.
   */
  crossPartitionBatches: boolean;
  /**
   * How a rebuild compares v+1 with the live v before the swap (the verified
   * cutover), per logical table. A table left out is compared on its primary
   * key and all its columns, read from the catalog.
   */
  compare?: Readonly<Record<string, TableComparison>>;
}

/** A table's comparison: rows are matched on `key`, and `columns` must be equal. */
export interface TableComparison {
  key: readonly string[];
  /** @defaultValue every column of the table */
  columns?: readonly string[];
}

/** A domain event as it stands in the log, for each member of the union `E`. */
export type Recorded<E extends DomainEvent> =
  E extends DomainEvent<infer Type, infer Data> ? RecordedEvent<Type, Data> : never;

/** One handler per event type, each given its own typed payload. */
export type ProjectionHandlers<E extends DomainEvent> = {
  [Type in E['type']]?: (
    event: Recorded<Extract<E, { type: Type }>>,
    ctx: ProjectionContext,
  ) => Promise<void> | void;
};

interface ProjectionOptions {
  name: string;
  version: number;
  pool?: string;
  tables: readonly string[];
  setup(table: (name: string) => string): string;
  /** @defaultValue 'park' */
  onError?: 'park' | 'halt';
  /** @defaultValue 5 */
  maxAttempts?: number;
  /** @defaultValue 50 */
  retryBackoffMs?: number;
  /** @defaultValue `REFRACT_TRIP_AFTER_PARKED`, else 100 */
  tripAfterParked?: number;
  /** @defaultValue false */
  crossPartitionBatches?: boolean;
  /** @defaultValue each table's primary key and all its columns */
  compare?: Readonly<Record<string, TableComparison>>;
}

/**
 * A projection over the event union `E` (`defineProjection<OrderEvent>({...})`),
 * in one of three forms: `handlers` keyed by event type (a key that is not a
 * type of `E` does not compile), or `handles` with a per-event `apply` or a
 * whole-batch `applyBatch`.
 */
export type ProjectionDefinition<E extends DomainEvent = DomainEvent> = ProjectionOptions &
  (
    | { handlers: ProjectionHandlers<E>; handles?: never; apply?: never; applyBatch?: never }
    | {
        handles: readonly E['type'][];
        /** Per-event form, for projections that need no batching. */
        apply(event: Recorded<E>, ctx: ProjectionContext): Promise<void>;
        applyBatch?: never;
        handlers?: never;
      }
    | {
        handles: readonly E['type'][];
        applyBatch(events: Recorded<E>[], ctx: ProjectionContext): Promise<void>;
        apply?: never;
        handlers?: never;
      }
  );

const NAME = /^[a-z][a-z0-9_]{0,40}$/;

export function defineProjection<E extends DomainEvent = DomainEvent>(
  definition: ProjectionDefinition<E>,
): Projection {
  for (const name of [definition.name, ...definition.tables]) {
    if (!NAME.test(name)) {
      throw new Error(`projection and table names must match ${NAME}: ${name}`);
    }
  }
  if (!Number.isInteger(definition.version) || definition.version < 1) {
    throw new Error(`projection ${definition.name}: version must be a positive integer`);
  }
  for (const [table, comparison] of Object.entries(definition.compare ?? {})) {
    if (!definition.tables.includes(table) || comparison.key.length === 0) {
      throw new Error(`projection ${definition.name}: compare names table ${table} without a key`);
    }
  }
  const { apply, applyBatch, handlers, handles, ...rest } = definition;
  return {
    ...rest,
    handles: handlers ? Object.keys(handlers) : (handles ?? []),
    onError: definition.onError ?? 'park',
    maxAttempts: definition.maxAttempts ?? 5,
    retryBackoffMs: definition.retryBackoffMs ?? 50,
    crossPartitionBatches: definition.crossPartitionBatches ?? false,
    applyBatch: batchOf(apply, applyBatch, handlers),
  };
}

type AnyHandler = (event: RecordedEvent, ctx: ProjectionContext) => Promise<void> | void;

/** The one batch entry point every form of definition comes down to. */
function batchOf(apply: unknown, applyBatch: unknown, handlers: unknown): Projection['applyBatch'] {
  if (typeof applyBatch === 'function') return applyBatch as Projection['applyBatch'];
  const perEvent =
    typeof apply === 'function'
      ? (apply as AnyHandler)
      : (event: RecordedEvent, ctx: ProjectionContext) =>
          (handlers as Record<string, AnyHandler | undefined>)[event.type]?.(event, ctx);
  return async (events, ctx) => {
    for (const event of events) await perEvent(event, ctx);
  };
}

/**
 * A read model kept in Redis: per-partition counters. Each batch becomes
 * increments that one Lua script applies together with the advance of the
 * partition's checkpoint, kept in the same hash, so the counters are exact
 * under redelivery. If Redis loses the hash, the checkpoint goes with it and
 * the counters rebuild themselves from the log.
 */
export interface CounterProjection {
  kind: 'counter';
  name: string;
  version: number;
  pool?: string;
  handles: readonly string[];
  /** Folds a batch (handled types only, one partition, position order) into field increments. */
  increments(events: RecordedEvent[]): Record<string, number>;
  /**
   * How a rebuild compares v+1 with the live v before the swap (the verified
   * cutover): the counters compared, on every partition. Left out: every
   * counter either version has.
   */
  compare?: CounterComparison;
}

/** The counters a verified cutover compares; the others may differ freely. */
export interface CounterComparison {
  counters: readonly string[];
}

export interface CounterProjectionDefinition<E extends DomainEvent = DomainEvent> {
  name: string;
  version: number;
  pool?: string;
  handles: readonly E['type'][];
  /** Folds a batch (handled types only, one partition, position order) into field increments. */
  increments(events: Recorded<E>[]): Record<string, number>;
  /** @defaultValue every counter of either version */
  compare?: CounterComparison;
}

export function defineCounterProjection<E extends DomainEvent = DomainEvent>(
  definition: CounterProjectionDefinition<E>,
): CounterProjection {
  if (!NAME.test(definition.name)) {
    throw new Error(`projection names must match ${NAME}: ${definition.name}`);
  }
  const counters = definition.compare?.counters;
  // '~' fields are the hash's own (checkpoint, freeze), never counters.
  if (counters && (counters.length === 0 || counters.some((c) => c === '' || c.startsWith('~')))) {
    throw new Error(`projection ${definition.name}: compare names no counter, or a reserved one`);
  }
  return {
    kind: 'counter',
    ...definition,
    increments: definition.increments as CounterProjection['increments'],
  };
}

/** Anything a worker pool can run. */
export type AnyProjection = Projection | CounterProjection;

export function isCounterProjection(projection: AnyProjection): projection is CounterProjection {
  return (projection as CounterProjection).kind === 'counter';
}
