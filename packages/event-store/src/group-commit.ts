import {
  type AppendResult,
  DependencyUnavailableError,
  type ExpectedVersion,
  IdempotencyConflictError,
  WrongExpectedVersionError,
} from '@refract/core';
import type pg from 'pg';
import type { AppendRequest, PreparedEvent } from './append-request.js';
import { isConnectionError } from './pg-pool.js';
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
   * Takes appends from the queue up to the event budget. An append that reuses
   * an event id another append of the batch uses (two retries of one request
   * racing) waits for the next batch, where it finds the first one stored.
   */
  private takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const ids = new Set<string>();
    let events = 0;
    const deferred: Pending[] = [];
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const size = next.request.events.length;
      if (batch.length > 0 && events + size > this.maxEvents) break;
      this.queue.shift();
      const keys = next.request.events.map((e) => `${next.request.streamId}\u0000${e.id}`);
      if (keys.some((key) => ids.has(key))) {
        deferred.push(next);
        continue;
      }
      for (const key of keys) ids.add(key);
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

  /** Runs one transaction for the batch and returns each append's outcome, once committed. */
  private async runTransaction(batch: Pending[]): Promise<Outcome[]> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const versions = await this.lockStreams(client, batch);
      const stored = await this.findStored(client, batch);
      const outcomes: (Outcome | undefined)[] = new Array(batch.length);
      const write = newWrite();
      batch.forEach((pending, index) => {
        const { request } = pending;
        const found = stored.get(index);
        if (found) {
          outcomes[index] = duplicateOutcome(request, found);
          return;
        }
        const current = versions.get(request.streamId)!;
        if (!satisfies(request.expectedVersion, current)) {
          outcomes[index] = {
            error: new WrongExpectedVersionError(
              request.streamId,
              request.expectedVersion,
              current,
            ),
          };
          return;
        }
        request.events.forEach((event, offset) => {
          write.add(request.streamId, current + 1 + offset, pending.partition, event);
        });
        versions.set(request.streamId, current + request.events.length);
      });
      if (write.size() === 0) {
        // Nothing to write: rolling back also removes placeholder stream rows.
        await client.query('ROLLBACK');
        return outcomes as Outcome[];
      }
      const rows = await client.query<{ position: number; stream_id: string; version: number }>(
        SQL.writeEvents,
        write.params(versions, EVENTS_CHANNEL),
      );
      await client.query('COMMIT');
      const positions = new Map<string, number>();
      for (const row of rows.rows)
        positions.set(`${row.stream_id}\u0000${row.version}`, row.position);
      // Appends that wrote are answered from the positions the insert returned.
      const next = new Map<string, number>();
      batch.forEach((pending, index) => {
        if (outcomes[index]) return;
        const { streamId, events } = pending.request;
        const first = next.get(streamId) ?? write.firstVersion(streamId);
        const last = first + events.length - 1;
        next.set(streamId, last + 1);
        outcomes[index] = {
          ok: {
            streamId,
            firstVersion: first,
            lastVersion: last,
            firstPosition: positions.get(`${streamId}\u0000${first}`)!,
            lastPosition: positions.get(`${streamId}\u0000${last}`)!,
            duplicate: false,
          },
        };
      });
      return outcomes as Outcome[];
    } catch (error) {
      if (isConnectionError(error)) broken = error as Error;
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private async lockStreams(client: pg.PoolClient, batch: Pending[]): Promise<Map<string, number>> {
    const partitions = new Map<string, number>();
    for (const pending of batch) partitions.set(pending.request.streamId, pending.partition);
    const ids = [...partitions.keys()];
    const result = await client.query<{ stream_id: string; version: number }>(SQL.lockStreams, [
      ids,
      ids.map((id) => partitions.get(id)),
    ]);
    return new Map(result.rows.map((row) => [row.stream_id, row.version]));
  }

  /** For each append whose ids may be stored already, what the log holds of them. */
  private async findStored(
    client: pg.PoolClient,
    batch: Pending[],
  ): Promise<Map<number, StoredEvent[]>> {
    const owners: number[] = [];
    const columns: [string[], string[], string[], number[], string[], string[]] = [
      [],
      [],
      [],
      [],
      [],
      [],
    ];
    batch.forEach((pending, index) => {
      if (!pending.checkStored) return;
      for (const event of pending.request.events) {
        owners.push(index);
        columns[0].push(pending.request.streamId);
        columns[1].push(event.id);
        columns[2].push(event.type);
        columns[3].push(event.schemaVersion);
        columns[4].push(event.data);
        columns[5].push(event.metadata);
      }
    });
    const found = new Map<number, StoredEvent[]>();
    if (owners.length === 0) return found;
    const result = await client.query<StoredEvent & { ord: number }>(SQL.findStoredEvents, columns);
    for (const row of result.rows) {
      const owner = owners[row.ord - 1]!;
      const list = found.get(owner) ?? [];
      list.push(row);
      found.set(owner, list);
    }
    return found;
  }
}

interface StoredEvent {
  ord: number;
  version: number;
  position: number;
  same: boolean;
}

function satisfies(expected: ExpectedVersion, current: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return current === -1;
    case 'stream_exists':
      return current >= 0;
    default:
      return current === expected;
  }
}

/**
 * An append some of whose ids are stored already. It is a retry of an earlier
 * append when all its events are stored, unchanged, as one run in the same
 * order; then the first result is returned. Anything else reuses ids for
 * different events, which is refused rather than silently accepted.
 */
function duplicateOutcome(request: AppendRequest, found: StoredEvent[]): Outcome {
  const byOrd = [...found].sort((a, b) => a.ord - b.ord);
  const first = byOrd[0]!;
  const complete =
    byOrd.length === request.events.length &&
    byOrd.every((row, i) => row.same && row.version === first.version + i);
  if (!complete) {
    const bad = byOrd.find((row) => !row.same) ?? first;
    const event = request.events[(bad.ord - 1) % request.events.length] as PreparedEvent;
    return { error: new IdempotencyConflictError(request.streamId, event.id) };
  }
  const last = byOrd[byOrd.length - 1]!;
  return {
    ok: {
      streamId: request.streamId,
      firstVersion: first.version,
      lastVersion: last.version,
      firstPosition: first.position,
      lastPosition: last.position,
      duplicate: true,
    },
  };
}

/** The columns of one write-events statement, filled append by append. */
function newWrite() {
  const streamIds: string[] = [];
  const versions: number[] = [];
  const partitions: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const schemaVersions: number[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  const firstVersion = new Map<string, number>();
  return {
    add(streamId: string, version: number, partition: number, event: PreparedEvent) {
      if (!firstVersion.has(streamId)) firstVersion.set(streamId, version);
      streamIds.push(streamId);
      versions.push(version);
      partitions.push(partition);
      ids.push(event.id);
      types.push(event.type);
      schemaVersions.push(event.schemaVersion);
      data.push(event.data);
      metadata.push(event.metadata);
    },
    size: () => streamIds.length,
    firstVersion: (streamId: string) => firstVersion.get(streamId)!,
    params(finalVersions: Map<string, number>, channel: string): unknown[] {
      const moved = [...firstVersion.keys()];
      const untouched = [...finalVersions.keys()].filter((id) => !firstVersion.has(id));
      return [
        streamIds,
        versions,
        partitions,
        ids,
        types,
        schemaVersions,
        data,
        metadata,
        moved,
        moved.map((id) => finalVersions.get(id)),
        untouched,
        channel,
      ];
    },
  };
}
