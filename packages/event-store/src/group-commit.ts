import {
  type AppendResult,
  DependencyUnavailableError,
  type ExpectedVersion,
  IdempotencyConflictError,
  isConnectionError,
  WrongExpectedVersionError,
} from '@refract/core';
import type pg from 'pg';
import type { AppendRequest, PreparedEvent } from './append-request.js';
import { SQL } from './sql.js';

/** The Postgres channel an append notifies on commit; the relay listens to it. */
export const EVENTS_CHANNEL = 'refract_events';

export interface GroupCommitOptions {
  /**
   * Append transactions in flight at once. Appends that arrive while they
   * run wait and go together into the next one.
   * @defaultValue 4
   */
  maxConcurrentTransactions?: number;
  /** @defaultValue 5000 */
  maxEventsPerTransaction?: number;
  /** Called once per committed transaction, for metrics. */
  onCommit?: (appends: number, events: number, durationMs: number) => void;
}

interface Pending {
  request: AppendRequest;
  partition: number;
  /** Look for already-stored ids: the client chose ids, or an earlier attempt may have committed. */
  checkStored: boolean;
  resolve(result: AppendResult): void;
  reject(error: unknown): void;
}

type Outcome = { ok: AppendResult } | { error: Error };

/**
 * Group commit: concurrent appends share one Postgres transaction, so 32
 * clients appending one event each pay for a handful of commits instead of
 * 32. Every append is still checked on its own (expected version,
 * idempotency) and answered on its own; one append's refusal does not
 * affect the others in its transaction.
 *
 * No timer: the first append starts a transaction at once, and appends that
 * arrive while transactions are in flight queue up for the next one. Under
 * light load the latency is that of a lone transaction; under heavy load the
 * batches grow by themselves.
 */
export class GroupCommitter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private readonly maxConcurrent: number;
  private readonly maxEvents: number;
  private idle: (() => void) | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: GroupCommitOptions = {},
  ) {
    this.maxConcurrent = options.maxConcurrentTransactions ?? 4;
    this.maxEvents = options.maxEventsPerTransaction ?? 5000;
  }

  append(request: AppendRequest, partition: number): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({
        request,
        partition,
        checkStored: request.events.some((event) => event.clientId),
        resolve,
        reject,
      });
      this.drain();
    });
  }

  /** Resolves once every queued append has been answered. */
  async flush(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => {
      this.idle = resolve;
    });
  }

  private drain(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxConcurrent) {
      const batch = this.takeBatch();
      this.inFlight += 1;
      void this.commit(batch).finally(() => {
        this.inFlight -= 1;
        this.drain();
        if (this.queue.length === 0 && this.inFlight === 0) this.idle?.();
      });
    }
  }

  /**
   * Takes appends from the queue up to the event budget, at most one per
   * stream: `append_batch` checks each append against its stream's version
   * as locked. A second append to a stream (or a retry racing its original)
   * waits for the next batch, where it sees the first one's outcome.
   */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const streams = new Set<string>();
    let events = 0;
    const deferred: Pending[] = [];
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const size = next.request.events.length;
      if (batch.length > 0 && events + size > this.maxEvents) break;
      this.queue.shift();
      if (streams.has(next.request.streamId)) {
        deferred.push(next);
        continue;
      }
      streams.add(next.request.streamId);
      batch.push(next);
      events += size;
    }
    this.queue.unshift(...deferred);
    return batch;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let outcomes: Outcome[];
    try {
      outcomes = await this.runTransaction(batch);
    } catch (error) {
      if (batch.length === 1 && batch[0]!.checkStored) {
        batch[0]!.reject(
          isConnectionError(error) ? new DependencyUnavailableError('postgres', error) : error,
        );
        return;
      }
      // The transaction failed as a whole (a dropped connection, even during
      // COMMIT, when we cannot know whether it landed). Each append goes again
      // alone; looking up stored ids first makes the retry idempotent, since
      // every event already has its id.
      await Promise.all(
        batch.map((pending) =>
          this.commit([{ ...pending, checkStored: true }]).catch(pending.reject),
        ),
      );
      return;
    }
    let events = 0;
    batch.forEach((pending, index) => {
      const outcome = outcomes[index]!;
      if ('ok' in outcome) {
        if (!outcome.ok.duplicate) events += pending.request.events.length;
        pending.resolve(outcome.ok);
      } else {
        pending.reject(outcome.error);
      }
    });
    this.options.onCommit?.(batch.length, events, performance.now() - started);
  }

  /**
   * Runs the batch as one function call in autocommit: one round trip and
   * one commit. A batch of one, the usual case below saturation, calls
   * `refract.append_one`, which costs Postgres far less than the general
   * `refract.append_batch`. Returns each append's outcome, once committed.
   */
  private async runTransaction(batch: Pending[]): Promise<Outcome[]> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const result = await client.query<BatchRow>(
        batch.length === 1
          ? {
              name: 'refract-append-one',
              text: SQL.appendOne,
              values: oneParams(batch[0]!, EVENTS_CHANNEL),
            }
          : {
              name: 'refract-append-batch',
              text: SQL.appendBatch,
              values: batchParams(batch, EVENTS_CHANNEL),
            },
      );
      return result.rows.map((row) => toOutcome(batch[row.ord - 1]!.request, row));
    } catch (error) {
      if (isConnectionError(error)) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/** One row of `refract.append_batch`: an append's verdict. */
interface BatchRow {
  ord: number;
  status: 'written' | 'duplicate' | 'wrong_version' | 'conflict';
  actual: number;
  first_version: number;
  last_version: number;
  first_position: number;
  last_position: number;
  event_id: string | null;
}

function toOutcome(request: AppendRequest, row: BatchRow): Outcome {
  switch (row.status) {
    case 'written':
    case 'duplicate':
      return {
        ok: {
          streamId: request.streamId,
          firstVersion: row.first_version,
          lastVersion: row.last_version,
          firstPosition: row.first_position,
          lastPosition: row.last_position,
          duplicate: row.status === 'duplicate',
        },
      };
    case 'wrong_version':
      return {
        error: new WrongExpectedVersionError(request.streamId, request.expectedVersion, row.actual),
      };
    case 'conflict':
      return { error: new IdempotencyConflictError(request.streamId, row.event_id!) };
  }
}

/** `expectedVersion` as `append_batch` takes it: null = any, -1 = no_stream, -2 = stream_exists. */
export function encodeExpected(expected: ExpectedVersion): number | null {
  switch (expected) {
    case 'any':
      return null;
    case 'no_stream':
      return -1;
    case 'stream_exists':
      return -2;
    default:
      return expected;
  }
}

/**
 * Serialised payloads as one JSON array: what `append_one` and
 * `append_batch` take for data and metadata. Joining text that is JSON
 * already costs nothing, where a jsonb[] would escape every quote of every
 * payload into an array literal for Postgres to unescape.
 */
function jsonArray(payloads: string[]): string {
  return `[${payloads.join(',')}]`;
}

/** The arguments of `refract.append_one`: the append, then per-event columns. */
function oneParams({ request, partition, checkStored }: Pending, channel: string): unknown[] {
  const [ids, types, schemaVersions, data, metadata] = eventColumns(request.events);
  return [
    request.streamId,
    partition,
    encodeExpected(request.expectedVersion),
    checkStored,
    ids,
    types,
    schemaVersions,
    jsonArray(data),
    jsonArray(metadata),
    channel,
  ];
}

/**
 * An append's events as per-event arrays: ids, types, schema versions, data,
 * metadata (the last two as `append_keyed` takes them; `append_one` takes
 * them joined into JSON arrays).
 */
export function eventColumns(
  events: PreparedEvent[],
): [string[], string[], number[], string[], string[]] {
  return [
    events.map((event) => event.id),
    events.map((event) => event.type),
    events.map((event) => event.schemaVersion),
    events.map((event) => event.data),
    events.map((event) => event.metadata),
  ];
}

/** The arguments of `refract.append_batch`: per-append columns, then per-event columns. */
function batchParams(batch: Pending[], channel: string): unknown[] {
  const streams: string[] = [];
  const partitions: number[] = [];
  const expected: (number | null)[] = [];
  const counts: number[] = [];
  const check: boolean[] = [];
  const owners: number[] = [];
  const offsets: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const schemaVersions: number[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  batch.forEach((pending, index) => {
    const { request } = pending;
    streams.push(request.streamId);
    partitions.push(pending.partition);
    expected.push(encodeExpected(request.expectedVersion));
    counts.push(request.events.length);
    check.push(pending.checkStored);
    request.events.forEach((event: PreparedEvent, offset) => {
      owners.push(index + 1);
      offsets.push(offset);
      ids.push(event.id);
      types.push(event.type);
      schemaVersions.push(event.schemaVersion);
      data.push(event.data);
      metadata.push(event.metadata);
    });
  });
  return [
    streams,
    partitions,
    expected,
    counts,
    check,
    owners,
    offsets,
    ids,
    types,
    schemaVersions,
    jsonArray(data),
    jsonArray(metadata),
    channel,
  ];
}
