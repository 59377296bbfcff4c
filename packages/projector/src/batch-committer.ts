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
import { findRefusals } from './apply-rows.js';
import {
  allAnswered,
  CheckpointMoved,
  checkpointMove,
  commitWithCheckpoints,
} from './commit-with-checkpoints.js';
import { behindParking, lookUpQuarantines, type Parking, recordParkings } from './quarantine.js';
import { tripIfOverThreshold } from './trip.js';

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
      const { outcomes, parked } = await this.commitTogether(group);
      // Committed: a failed breaker check is tried again at the next parking.
      for (const { slot, log, partitions, events } of parked) {
        log.warn(
          { partitions, parked: events },
          'poison events parked; their streams are quarantined',
        );
        await tripIfOverThreshold(this.pool, slot.projection, slot.version, log).catch(
          (error: unknown) =>
            log.warn({ err: error }, 'breaker check failed; checked again at the next parking'),
        );
      }
      for (const { batch, outcome } of outcomes) batch.resolve(outcome);
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
   *
   * A call with a quarantined partition (`slot.quarantined`) first looks its
   * streams up: their events are held, not applied; and, for a projection
   * that parks, the events its handler refuses in memory are found before
   * the call (`findRefusals`) and parked with their streams' later events.
   * So a poison flood's partitions share transactions too, instead of a
   * transaction (and a commit) per partition and projection.
   */
  private async commitTogether(group: readonly Pending[]): Promise<{
    outcomes: { batch: Pending; outcome: ApplyOutcome }[];
    parked: { slot: Slot<Projection>; log: Logger; partitions: number[]; events: number }[];
  }> {
    const batches = group.map((batch) => ({
      batch,
      handled: batch.events.filter((event) => batch.slot.projection.handles.includes(event.type)),
    }));
    // The handler's context names the lowest partition of the call.
    const calls = new Map<string, Call>();
    const keyOf = (slot: Slot) => `${slot.projection.name}@${slot.version}`;
    for (const { batch, handled } of batches) {
      const call = calls.get(keyOf(batch.slot));
      if (call) {
        call.partition = Math.min(call.partition, batch.partition);
        call.events.push(...handled);
      } else {
        calls.set(keyOf(batch.slot), {
          slot: batch.slot,
          log: batch.log,
          partition: batch.partition,
          events: [...handled],
          quarantined: [],
          stillQuarantined: new Set(),
          parked: [],
        });
      }
      if (batch.slot.quarantined) calls.get(keyOf(batch.slot))!.quarantined.push(batch.partition);
    }
    const moves = batches.map(({ batch: b, handled }) =>
      checkpointMove(b.slot, b.partition, b.through, handled.length),
    );
    await commitWithCheckpoints(this.options.sharedPool ?? this.pool, moves, (client) =>
      allAnswered([...calls.values()].map((call) => applyCall(client, call))),
    );
    const outcomes = batches.map(({ batch, handled }) => {
      const call = calls.get(keyOf(batch.slot))!;
      batch.slot.position = batch.through;
      const positions = new Set(call.parked.map((p) => p.event.position));
      const parked = handled.filter((e) => positions.has(e.position)).length;
      // Only this partition's runner parks its events: once its quarantines
      // are all resolved none comes back unseen, and the lookup is skipped.
      batch.slot.quarantined =
        parked > 0 ||
        (batch.slot.quarantined === true && call.stillQuarantined.has(batch.partition));
      return { batch, outcome: { applied: handled.length - parked, parked, halted: false } };
    });
    const parked = [...calls.values()]
      .filter((call) => call.parked.length > 0)
      .map((call) => ({
        slot: call.slot,
        log: call.log,
        partitions: [...new Set(call.parked.map((p) => p.event.partition))].sort((a, b) => a - b),
        events: call.parked.length,
      }));
    return { outcomes, parked };
  }
}

/** One projection version's share of a group: its batches' events, applied in one handler call. */
interface Call {
  slot: Slot<Projection>;
  log: Logger;
  partition: number;
  events: RecordedEvent[];
  /** Its batches' partitions known to have quarantined streams. */
  quarantined: number[];
  /** Of those, the ones that still have after this transaction (set by `applyCall`). */
  stillQuarantined: Set<number>;
  /** What it parked (set by `applyCall`). */
  parked: Parking[];
}

async function applyCall(client: pg.PoolClient, call: Call): Promise<void> {
  const { slot, events } = call;
  const { projection, version } = slot;
  if (events.length === 0) {
    // Nothing looked up, so nothing found resolved: the partitions stay
    // quarantined (left empty, the flag was cleared, and the next batch
    // skipped the lookup and applied a held stream's events).
    call.stillQuarantined = new Set(call.quarantined);
    return;
  }
  events.sort((a, b) => a.position - b.position);
  const ctx = batchContext(client, projection, version, call.partition);
  if (call.quarantined.length === 0) {
    await projection.applyBatch(events, ctx);
    return;
  }
  const found = await lookUpQuarantines(client, projection.name, version, call.quarantined, events);
  call.stillQuarantined = found.partitions;
  let good: RecordedEvent[] = [];
  for (const event of events) {
    const head = found.heads.get(event.streamId);
    if (head === undefined) good.push(event);
    else call.parked.push(behindParking(event, head));
  }
  if (projection.onError === 'park') {
    const refusals = await findRefusals(projection, ctx, good, new Map());
    good = refusals.good;
    call.parked.push(...refusals.parked);
  }
  if (good.length > 0) await projection.applyBatch(good, ctx);
  if (call.parked.length > 0) await recordParkings(client, projection.name, version, call.parked);
}
