/**
 * Given/when/then for a projection of the user's application, against a
 * real Postgres (and Redis, for counter projections), through the engine's
 * own paths: the given events are appended through the event store (so
 * they are checked as the write API checks appends, and upcast on read),
 * the projection is registered as a worker registers it (its `setup`, its
 * checkpoints, the query views) and brought up to date through the
 * projector's catch-up, which applies batches the way a worker's partition
 * runners do (group commit, counters' Lua script, retries, parking).
 *
 * This module is the `@refract/testing/projection` entry point; it loads
 * the projector, the event store and their drivers, which the package's
 * other entry points do not.
 */
import {
  type AnyProjection,
  isCounterProjection,
  type JsonObject,
  type RefractApp,
} from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { createLogger, type Logger } from '@refract/observability';
import {
  type CatchUpResult,
  catchUp,
  listParkedEvents,
  type ParkedEvent,
  registerCounterProjection,
  registerProjection,
} from '@refract/projector';
import { createRedisClient, type RedisClient, readCounters } from '@refract/stream-bus';
import type pg from 'pg';
import { expect } from 'vitest';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './postgres.js';
import { createTestRedisNamespace, TEST_REDIS_URL, type TestRedisNamespace } from './redis.js';

/** An event to append, as a client would: to its stream, in the order given. */
export interface GivenEvent {
  streamId: string;
  type: string;
  data: JsonObject;
  metadata?: JsonObject;
  /** The payload's shape, when older than the type's current one: upcasters bring it forward on read. */
  schemaVersion?: number;
}

export interface ProjectionSpecOptions {
  /** The Postgres server each scenario's database is created on. @defaultValue `TEST_DATABASE_URL` or postgres://postgres@127.0.0.1:5432/test */
  databaseUrl?: string;
  /** The Redis a counter projection's scenarios use, each under a key prefix of its own. @defaultValue `TEST_REDIS_URL` or redis://127.0.0.1:6379 */
  redisUrl?: string;
  /** The partition count of each scenario's event store. @defaultValue 32, as an installation's */
  partitions?: number;
  /** Events per batch transaction, as the worker's `batchSize`. @defaultValue 500 */
  batchSize?: number;
  /** Where the engine's log lines go (a poison event's retries, for one). @defaultValue silent */
  logger?: Logger;
}

/** A parked event as `thenParked` matches it; `error` is a substring of the handler's error, or a RegExp. */
export interface ParkedExpectation {
  streamId?: string;
  type?: string;
  error?: string | RegExp;
}

export interface ProjectionSpec {
  /**
   * Starts a scenario on a new, empty database (and key prefix): `events`
   * are appended in order and applied. The scenario before it, if any, is
   * closed and its database dropped.
   */
  given(events: readonly GivenEvent[]): ProjectionScenario;
  /** `given([]).when(events)`. */
  when(events: readonly GivenEvent[]): ProjectionScenario;
  /** Closes the last scenario and drops its database and keys. Idempotent. */
  close(): Promise<void>;
}

/**
 * One history, applied step by step. Each step (`given`, every `when`)
 * runs in the background as soon as it is called, in order; the readers and
 * `then…` assertions wait for every step before them, and the first step
 * that failed (an event its type's schema refuses, say) fails them.
 */
export interface ProjectionScenario {
  /** Appends more events and applies them on top of what is applied: only the new ones are. */
  when(events: readonly GivenEvent[]): ProjectionScenario;
  /** Asserts that the query's rows equal `expected`, in order (`ORDER BY` what you compare); returns them. */
  thenRows<Row extends Record<string, unknown>>(
    sql: string,
    expected: readonly Row[],
    values?: readonly unknown[],
  ): Promise<Row[]>;
  /** Asserts a counter projection's counters, summed over the partitions (a field at 0 counts as absent); returns them. */
  thenCounters(expected: Record<string, number>): Promise<Record<string, number>>;
  /** Asserts the open parked events, in log order, one expectation each (`[]` for none); returns them. */
  thenParked(expected: readonly ParkedExpectation[]): Promise<ParkedEvent[]>;
  /** The rows of a query on the scenario's database (the query views, e.g. `projections.order_summary`). */
  rows<Row extends Record<string, unknown>>(
    sql: string,
    values?: readonly unknown[],
  ): Promise<Row[]>;
  /** A counter projection's counters, summed over the partitions. */
  counters(): Promise<Record<string, number>>;
  /** The open parked events, in log order. */
  parked(): Promise<ParkedEvent[]>;
  /** What the steps so far applied, parked and halted, added up. */
  applied(): Promise<CatchUpResult>;
}

/**
 * `projectionSpec(app, 'order_summary')`: scenarios for one projection of
 * the application module `app` (a `defineApp` result). Close it when done
 * (`afterAll(() => spec.close())`).
 */
export function projectionSpec(
  app: RefractApp,
  name: string,
  options: ProjectionSpecOptions = {},
): ProjectionSpec {
  const projection = app.projection(name);
  if (!projection) {
    const known = app.projections.map((p) => p.name).join(', ') || 'none';
    throw new Error(`the application has no projection ${name} (it has: ${known})`);
  }
  let latest: Run | undefined;
  /** Scenarios run one after the other: a new one waits for the last one's steps, then closes it. */
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(step: () => Promise<T>): Promise<T> => {
    const next = queue.then(step);
    queue = next.catch(() => {});
    return next;
  };
  /** Scenarios being closed: a database drop need not hold up the next scenario. */
  const closing = new Set<Promise<void>>();
  const closeLatest = () => {
    const done = latest?.close();
    latest = undefined;
    if (!done) return;
    const tracked = done.finally(() => closing.delete(tracked));
    // A failed drop is close()'s to report, not an unhandled rejection meanwhile.
    tracked.catch(() => {});
    closing.add(tracked);
  };
  const given = (events: readonly GivenEvent[]): ProjectionScenario => {
    const run = enqueue(async () => {
      closeLatest();
      latest = await Run.open(app, projection, options);
      return latest;
    });
    return new Scenario(run, enqueue).when(events);
  };
  return {
    given,
    when: (events) => given([]).when(events),
    close: () =>
      enqueue(async () => {
        closeLatest();
        await Promise.all(closing);
      }),
  };
}

class Scenario implements ProjectionScenario {
  /** The last step: every reader waits for it, and fails with the first step that failed. */
  private last: Promise<void>;
  private readonly total: CatchUpResult = { applied: 0, parked: 0, halted: 0 };

  constructor(
    private readonly run: Promise<Run>,
    private readonly enqueue: <T>(step: () => Promise<T>) => Promise<T>,
  ) {
    this.last = handled(run.then(() => {}));
  }

  when(events: readonly GivenEvent[]): ProjectionScenario {
    const before = this.last;
    this.last = handled(
      this.enqueue(async () => {
        await before;
        const result = await (await this.run).append(events);
        this.total.applied += result.applied;
        this.total.parked += result.parked;
        this.total.halted += result.halted;
      }),
    );
    return this;
  }

  private async settled(): Promise<Run> {
    await this.last;
    const run = await this.run;
    if (run.closed)
      throw new Error('this scenario was closed: a later given() or close() ended it');
    return run;
  }

  async rows<Row extends Record<string, unknown>>(
    sql: string,
    values?: readonly unknown[],
  ): Promise<Row[]> {
    return (await this.settled()).rows<Row>(sql, values);
  }

  async counters(): Promise<Record<string, number>> {
    return (await this.settled()).counters();
  }

  async parked(): Promise<ParkedEvent[]> {
    return (await this.settled()).parked();
  }

  async applied(): Promise<CatchUpResult> {
    await this.settled();
    return { ...this.total };
  }

  async thenRows<Row extends Record<string, unknown>>(
    sql: string,
    expected: readonly Row[],
    values?: readonly unknown[],
  ): Promise<Row[]> {
    const rows = await this.rows<Row>(sql, values);
    expect(rows, await this.describe(`rows of ${sql}`)).toEqual(expected);
    return rows;
  }

  async thenCounters(expected: Record<string, number>): Promise<Record<string, number>> {
    const counters = await this.counters();
    expect(nonZero(counters), await this.describe('counters')).toEqual(nonZero(expected));
    return counters;
  }

  async thenParked(expected: readonly ParkedExpectation[]): Promise<ParkedEvent[]> {
    const parked = await this.parked();
    const actual = parked.map((p) => ({ streamId: p.streamId, type: p.eventType, error: p.error }));
    const wanted = expected.map(({ error, ...rest }) =>
      error === undefined
        ? rest
        : {
            ...rest,
            error:
              typeof error === 'string'
                ? expect.stringContaining(error)
                : expect.stringMatching(error),
          },
    );
    expect(actual, 'parked events').toMatchObject(wanted);
    return parked;
  }

  /** An assertion's message: what it compares, and the parked events, which often say why. */
  private async describe(what: string): Promise<string> {
    const parked = await this.parked();
    if (parked.length === 0) return what;
    const lines = parked.map(
      (p) => `  ${p.eventType} at ${p.position} on ${p.streamId}: ${p.error}`,
    );
    return `${what} (${parked.length} event(s) parked:\n${lines.join('\n')})`;
  }
}

/** Marks a step's rejection as handled: it is reported by whoever reads the scenario, if anyone does. */
function handled(step: Promise<void>): Promise<void> {
  step.catch(() => {});
  return step;
}

function nonZero(counters: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).filter(([, value]) => value !== 0));
}

/** One scenario's database, event store and (for a counter projection) Redis prefix. */
class Run {
  closed = false;

  private constructor(
    private readonly app: RefractApp,
    private readonly projection: AnyProjection,
    private readonly options: ProjectionSpecOptions,
    private readonly db: TestDatabase,
    private readonly store: EventStore,
    /** Shared batch transactions run here, pipelined, as in the worker. */
    private readonly sharedPool: pg.Pool,
    private readonly log: Logger,
    private readonly counting?: { namespace: TestRedisNamespace; redis: RedisClient },
  ) {}

  static async open(
    app: RefractApp,
    projection: AnyProjection,
    options: ProjectionSpecOptions,
  ): Promise<Run> {
    const db = await createTestDatabase(
      `spec_${projection.name.slice(0, 30)}`,
      options.databaseUrl ?? TEST_DATABASE_URL,
    );
    const opened: { close(): Promise<void> | void }[] = [];
    try {
      await migrate({ databaseUrl: db.url, partitions: options.partitions });
      const store = await EventStore.open({
        databaseUrl: db.url,
        upcasters: app.upcasters,
        applicationName: 'refract-projection-spec',
      });
      opened.push(store);
      const sharedPool = createPool({
        connectionString: db.url,
        max: 2,
        applicationName: 'refract-projection-spec',
        pipeline: true,
      });
      opened.push({ close: () => sharedPool.end() });
      let counting: Run['counting'];
      if (isCounterProjection(projection)) {
        const namespace = createTestRedisNamespace('spec', options.redisUrl ?? TEST_REDIS_URL);
        // Queue commands until connected: a scenario sends its first one at
        // once and has no retry loop of its own, unlike a worker.
        const redis = createRedisClient(namespace.url, {
          name: 'refract-projection-spec',
          failFast: false,
        });
        counting = { namespace, redis };
        opened.push({ close: () => redis.disconnect() });
        await registerCounterProjection(store.pool, projection);
      } else {
        await registerProjection(store.pool, projection, store.partitions);
      }
      const log = options.logger ?? createLogger({ service: 'projection-spec', level: 'silent' });
      return new Run(app, projection, options, db, store, sharedPool, log, counting);
    } catch (error) {
      for (const resource of opened.reverse()) await resource.close();
      await db.drop();
      throw error;
    }
  }

  /** Appends `events` in order (a stream's consecutive events in one append) and applies them. */
  async append(events: readonly GivenEvent[]): Promise<CatchUpResult> {
    for (let i = 0; i < events.length; ) {
      const streamId = events[i]!.streamId;
      const start = i;
      while (i < events.length && events[i]!.streamId === streamId) i++;
      const run = events.slice(start, i).map((event, k) => {
        const { type, data, metadata } = event;
        try {
          const schemaVersion = this.app.checkEvent(event, `events.${start + k}`);
          return { type, data, metadata, schemaVersion };
        } catch (error) {
          throw new Error(
            `given event ${start + k} (${type} on ${streamId}) is refused: ${(error as Error).message}`,
            { cause: error },
          );
        }
      });
      await this.store.append(streamId, run);
    }
    return catchUp({
      store: this.store,
      projections: [{ projection: this.projection, version: this.projection.version }],
      upTo: await this.store.headPosition(),
      batchSize: this.options.batchSize,
      sharedPool: this.sharedPool,
      counters: this.counting && {
        redis: this.counting.redis,
        keyPrefix: this.counting.namespace.prefix,
      },
      log: this.log,
    });
  }

  async rows<Row extends Record<string, unknown>>(
    sql: string,
    values?: readonly unknown[],
  ): Promise<Row[]> {
    const result = await this.store.pool.query<Row>(sql, values ? [...values] : undefined);
    return result.rows;
  }

  async counters(): Promise<Record<string, number>> {
    if (!this.counting) throw new Error(`${this.projection.name} is not a counter projection`);
    return readCounters(
      this.counting.redis,
      this.counting.namespace.prefix,
      this.projection.name,
      this.projection.version,
      this.store.partitions,
    );
  }

  async parked(): Promise<ParkedEvent[]> {
    const parked = await listParkedEvents(this.store, this.projection.name);
    return parked.sort((a, b) => a.position - b.position);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.sharedPool.end();
      await this.store.close();
      if (this.counting) {
        this.counting.redis.disconnect();
        await this.counting.namespace.cleanup();
      }
    } finally {
      await this.db.drop();
    }
  }
}
