import {
  batchContext,
  isCounterProjection,
  type Projection,
  type RecordedEvent,
} from '@refract/core';
import { isConnectionError } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import type pg from 'pg';
import { type ApplyOutcome, applyToSlot, type Slot } from './apply.js';
import {
  allAnswered,
  CheckpointMoved,
  checkpointMove,
  commitWithCheckpoints,
} from './commit-with-checkpoints.js';

/** Shared batch transactions a worker keeps in flight at once, at most (its committer's concurrency). */
export const SHARED_TRANSACTIONS = 2;

export interface BatchCommitterOptions {
  /**
   * Shared transactions in flight at once when there is a backlog (at least
   * `backlogEvents` waiting); otherwise one, so that what arrives meanwhile
   * makes the next group large: tailing, a second one in flight mostly took
   * single batches, while a catch-up on one transaction at a time left
   * Postgres idle between them. @defaultValue 2
   */
  concurrency?: number;
  /** Events one shared transaction takes at most (a batch is never split). @defaultValue 5000 */
  maxEvents?: number;
  /** Events waiting that let a second transaction start beside the first. @defaultValue 1000 */
  backlogEvents?: number;
  /**
   * Where shared transactions run: a pool in pg's pipeline mode
   * (`createPool({ pipeline: true })`) sends BEGIN, the compare-and-set and
   * every projection's first statement in one round trip, and COMMIT in a
   * second, instead of a round trip per statement: tailing, round trips are
   * most of an event's time in the worker.
   * @defaultValue the committer's pool
   */
  sharedPool?: pg.Pool;
  log: Logger;
}

interface Pending {
  slot: Slot<Projection>;
  partition: number;
  /** Only events after the slot's checkpoint. */
  events: RecordedEvent[];
  through: number;
  log: Logger;
  resolve: (outcome: ApplyOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the batches of one worker's partitions. Tailing live
 * traffic, each of the partitions a worker owns has a few events at a time,
 * and a transaction per partition and projection would make the commits,
 * not the events, the work. Batches of projections that allow it
 * (`crossPartitionBatches`) are queued here while earlier ones commit, then
 * applied together: one checkpoint compare-and-set over all of them, one
 * handler call per projection with their events in position order, one
 * commit. Each batch still moves its own partition's checkpoint from where
 * its runner read it, so exactly-once holds per partition as before.
 *
 * A shared transaction that fails for any reason is rolled back whole and
 * each of its batches goes the single-partition way (`applyToSlot`), whose
 * retries, parking and halting then decide for that batch alone, and whose
 * compare-and-set tells the runner whose checkpoint moved.
 */
export class BatchCommitter {
  private readonly pending: Pending[] = [];
  private inFlight = 0;
  /** A transaction just ended: the next group is formed a turn of the event loop later. */
  private settling = false;
  private readonly concurrency: number;
  private readonly maxEvents: number;
  private readonly backlogEvents: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: BatchCommitterOptions,
  ) {
    this.concurrency = options.concurrency ?? 2;
    this.backlogEvents = options.backlogEvents ?? 1000;
    this.maxEvents = options.maxEvents ?? 5000;
  }

  /** Whether batches of this slot's projection may share a transaction with other partitions'. */
  static takes(slot: Slot): slot is Slot<Projection> {
    return !isCounterProjection(slot.projection) && slot.projection.crossPartitionBatches;
  }

  /** Applies the batch, possibly together with other partitions' batches; settles as `applyToSlot` would. */
  apply(
    slot: Slot<Projection>,
    partition: number,
    events: readonly RecordedEvent[],
    through: number,
    log: Logger,
  ): Promise<ApplyOutcome> {
    if (slot.halted || through <= slot.position) {
      return Promise.resolve({ applied: 0, parked: 0, halted: false });
    }
    return new Promise<ApplyOutcome>((resolve, reject) => {
      const after = events.filter((event) => event.position > slot.position);
      this.pending.push({ slot, partition, events: after, through, log, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    if (this.settling) return;
    while (this.pending.length > 0 && this.inFlight < this.concurrency) {
      if (this.inFlight > 0 && this.waitingEvents() < this.backlogEvents) return;
      const group: Pending[] = [this.pending.shift()!];
      let events = group[0]!.events.length;
      while (this.pending.length > 0 && events + this.pending[0]!.events.length <= this.maxEvents) {
        const next = this.pending.shift()!;
        events += next.events.length;
        group.push(next);
      }
      this.inFlight += 1;
      void this.commit(group).finally(() => {
        this.inFlight -= 1;
        // The runners whose batches just committed send their next batch
        // at once when its entries were read ahead; waiting for their
        // continuations lets those batches join this next group, not the
        // one after it.
        this.settling = true;
        setImmediate(() => {
          this.settling = false;
          this.drain();
        });
      });
    }
  }

  private waitingEvents(): number {
    let events = 0;
    for (const batch of this.pending) events += batch.events.length;
    return events;
  }

  private async commit(group: Pending[]): Promise<void> {
    try {
      for (const { batch, outcome } of await this.commitTogether(group)) batch.resolve(outcome);
    } catch (error) {
      // Whatever it was, nothing of it committed (or, after a lost COMMIT,
      // all of it did, and each batch's compare-and-set then says so). Each
      // batch is retried alone, outside the shared slot: one poison event's
      // retries and backoff must not hold every other partition up.
      if (!(error instanceof CheckpointMoved) && !isConnectionError(error)) {
        this.options.log.warn(
          { err: error, batches: group.length },
          'shared batch transaction failed; applying its batches one by one',
        );
      }
      for (const batch of group) {
        applyToSlot(
          this.pool,
          batch.slot,
          batch.partition,
          batch.events,
          batch.through,
          batch.log,
        ).then(batch.resolve, batch.reject);
      }
    }
  }

  /**
   * One transaction for the group (`commitWithCheckpoints`): every batch's
   * checkpoint move, one handler call per projection version with its
   * batches' events in position order. The projections' handlers run side
   * by side (each on its own tables, each handler's statements in its own
   * order); if one fails in the database, the transaction is aborted and the
   * others' statements fail with it.
   */
  private async commitTogether(
    group: readonly Pending[],
  ): Promise<{ batch: Pending; outcome: ApplyOutcome }[]> {
    const batches = group.map((batch) => ({
      batch,
      handled: batch.events.filter((event) => batch.slot.projection.handles.includes(event.type)),
    }));
    // The handler's context names the lowest partition of the call.
    const calls = new Map<
      string,
      { slot: Slot<Projection>; partition: number; events: RecordedEvent[] }
    >();
    for (const { batch, handled } of batches) {
      const key = `${batch.slot.projection.name}@${batch.slot.version}`;
      const call = calls.get(key);
      if (call) {
        call.partition = Math.min(call.partition, batch.partition);
        call.events.push(...handled);
      } else {
        calls.set(key, { slot: batch.slot, partition: batch.partition, events: [...handled] });
      }
    }
    const moves = batches.map(({ batch: b, handled }) =>
      checkpointMove(b.slot, b.partition, b.through, handled.length),
    );
    await commitWithCheckpoints(this.options.sharedPool ?? this.pool, moves, (client) =>
      allAnswered(
        [...calls.values()].map(async ({ slot, partition, events }) => {
          if (events.length === 0) return;
          events.sort((a, b) => a.position - b.position);
          await slot.projection.applyBatch(
            events,
            batchContext(client, slot.projection, slot.version, partition),
          );
        }),
      ),
    );
    return batches.map(({ batch, handled }) => {
      batch.slot.position = batch.through;
      return { batch, outcome: { applied: handled.length, parked: 0, halted: false } };
    });
  }
}
