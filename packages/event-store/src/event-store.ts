import {
  type AppendResult,
  assertStreamId,
  type ExpectedVersion,
  InvalidInputError,
  type JsonObject,
  type NewEvent,
  partitionOf,
  type RecordedEvent,
  StreamNotFoundError,
  UpcasterRegistry,
} from '@refract/core';
import type pg from 'pg';
import { type AppendRequest, parseAppendRequest } from './append-request.js';
import { type GroupCommitOptions, GroupCommitter } from './group-commit.js';
import { readHeadPosition } from './head-position.js';
import {
  type IdempotencyClaim,
  type IdempotencyKeyOptions,
  IdempotencyKeys,
  idempotencyKeyTtl,
  type KeyedAppendOutcome,
  type StoredCommandKey,
} from './idempotency-keys.js';
import { createPool } from './pg-pool.js';
import { readPartitionCount } from './settings.js';
import { SQL } from './sql.js';

export interface EventStoreOptions extends GroupCommitOptions {
  /** Postgres connection string. */
  databaseUrl: string;
  /** @defaultValue 10 */
  poolSize?: number;
  /** Upcasters applied to every event read; their latest versions stamp new events. */
  upcasters?: UpcasterRegistry;
  /** @defaultValue 'refract' */
  applicationName?: string;
  /** How long a command's idempotency key is kept. @defaultValue 86400 (24 hours) */
  idempotencyKeyTtlSeconds?: number;
  /** Called after each background sweep of expired idempotency keys: how many went, or why it failed. */
  onIdempotencyKeySweep?: IdempotencyKeyOptions['onSweep'];
}

export interface ReadStreamOptions {
  /** @defaultValue 0 */
  fromVersion?: number;
  /** @defaultValue 1000 */
  limit?: number;
  /** The stream as it was at this time. */
  asOf?: Date;
}

export interface StreamSlice {
  streamId: string;
  /** Version of the stream's last event (as of `asOf`, when given). */
  version: number;
  events: RecordedEvent[];
}

export interface ReadAllOptions {
  /** Return events after this position. @defaultValue 0 */
  after?: number;
  /** Up to and including this position. */
  upTo?: number;
  partitions?: number[];
  types?: string[];
  /** @defaultValue 1000 */
  limit?: number;
}

interface EventRow {
  position: number;
  stream_id: string;
  version: number;
  partition: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: JsonObject;
  metadata: JsonObject;
  created_at: Date;
}

/**
 * The event log in Postgres. Appends go through a group committer; reads
 * apply upcasters. Open it with `EventStore.open` after `migrate` has run.
 */
export class EventStore {
  readonly upcasters: UpcasterRegistry;
  private readonly committer: GroupCommitter;
  private readonly keys: IdempotencyKeys;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly pool: pg.Pool,
    /** The partition count fixed at install. */
    readonly partitions: number,
    options: EventStoreOptions,
  ) {
    this.upcasters = options.upcasters ?? new UpcasterRegistry();
    this.committer = new GroupCommitter(pool, options);
    this.keys = new IdempotencyKeys(pool, {
      ttlSeconds: options.idempotencyKeyTtlSeconds,
      onCommit: options.onCommit,
      onSweep: options.onIdempotencyKeySweep,
    });
  }

  static async open(options: EventStoreOptions): Promise<EventStore> {
    // Checked before connecting: a bad TTL is a configuration error, not a lost database.
    idempotencyKeyTtl(options.idempotencyKeyTtlSeconds);
    const pool = createPool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      applicationName: options.applicationName ?? 'refract',
    });
    try {
      const partitions = await readPartitionCount(pool);
      return new EventStore(pool, partitions, options);
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  partitionOf(streamId: string): number {
    return partitionOf(streamId, this.partitions);
  }

  /**
   * Appends events to one stream atomically. Idempotent by event id: a retry
   * of a stored append returns the first result with `duplicate: true`.
   */
  async append(
    streamId: string,
    events: NewEvent[],
    options: { expectedVersion?: ExpectedVersion } = {},
  ): Promise<AppendResult> {
    const request = parseAppendRequest(
      streamId,
      { expectedVersion: options.expectedVersion, events },
      (type) => this.upcasters.currentVersion(type),
    );
    return this.appendParsed(request);
  }

  /** Appends a request that `parseAppendRequest` already validated. */
  appendParsed(request: AppendRequest): Promise<AppendResult> {
    return this.committer.append(request, this.partitionOf(request.streamId));
  }

  /** The stored result of a live command idempotency key, or undefined when absent or expired. */
  findIdempotencyKey(key: string): Promise<StoredCommandKey | undefined> {
    return this.keys.find(key);
  }

  /**
   * Appends a keyed command's events (none when its decider decided nothing)
   * and stores its idempotency key with the result, in one transaction of its
   * own rather than a group commit. A live key is answered `stored` with what
   * it holds, and nothing is written; `wrong_version` stores nothing.
   */
  appendKeyed(
    streamId: string,
    events: NewEvent[],
    options: { expectedVersion: ExpectedVersion },
    claim: IdempotencyClaim,
  ): Promise<KeyedAppendOutcome> {
    const { expectedVersion } = options;
    let request: AppendRequest;
    if (events.length === 0) {
      assertStreamId(streamId);
      request = { streamId, expectedVersion, events: [] };
    } else {
      request = parseAppendRequest(streamId, { expectedVersion, events }, (type) =>
        this.upcasters.currentVersion(type),
      );
    }
    return this.keys.append(request, this.partitionOf(streamId), claim);
  }

  /** Deletes up to `limit` expired idempotency keys now (they are also swept in the background). */
  deleteExpiredIdempotencyKeys(limit?: number): Promise<number> {
    return this.keys.deleteExpired(limit);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<StreamSlice> {
    assertStreamId(streamId);
    const fromVersion = options.fromVersion ?? 0;
    const limit = options.limit ?? 1000;
    const asOf = options.asOf ?? null;
    const [versionResult, eventsResult] = await Promise.all([
      this.pool.query<{ version: number | null }>(SQL.streamVersion, [streamId, asOf]),
      this.pool.query<EventRow>(SQL.readStream, [streamId, fromVersion, limit, asOf]),
    ]);
    const version = versionResult.rows[0]?.version ?? null;
    if (version === null || version < 0) throw new StreamNotFoundError(streamId);
    return { streamId, version, events: eventsResult.rows.map((row) => this.toEvent(row)) };
  }

  /** The events of a stream from a version on, without the existence check of `readStream`. */
  async readStreamEvents(
    streamId: string,
    fromVersion: number,
    limit: number,
  ): Promise<RecordedEvent[]> {
    const result = await this.pool.query<EventRow>(SQL.readStream, [
      streamId,
      fromVersion,
      limit,
      null,
    ]);
    return result.rows.map((row) => this.toEvent(row));
  }

  /** Events in position order. Not commit-order safe on its own; see the relay. */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const limit = options.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new InvalidInputError('limit', 'must be a positive integer');
    }
    const result = await this.pool.query<EventRow>(SQL.readAll, [
      options.after ?? 0,
      options.upTo ?? null,
      options.partitions ?? null,
      options.types ?? null,
      limit,
    ]);
    return result.rows.map((row) => this.toEvent(row));
  }

  /** The highest committed position; 0 for an empty log. */
  async headPosition(): Promise<number> {
    return readHeadPosition(this.pool);
  }

  /** Waits for queued appends to be answered, then closes the pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.committer.flush();
      await this.keys.close();
      await this.pool.end();
    })();
    return this.closing;
  }

  private toEvent(row: EventRow): RecordedEvent {
    return this.upcasters.upcast({
      id: row.event_id,
      streamId: row.stream_id,
      type: row.type,
      data: row.data,
      metadata: row.metadata,
      schemaVersion: row.schema_version,
      version: row.version,
      position: row.position,
      partition: row.partition,
      createdAt: row.created_at,
    });
  }
}
