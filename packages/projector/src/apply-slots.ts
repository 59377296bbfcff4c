import {
  type AnyProjection,
  isCounterProjection,
  type Projection,
  type RecordedEvent,
} from '@refract/core';
import type { Logger } from '@refract/observability';
import { counterCheckpoint, type RedisClient } from '@refract/stream-bus';
import type pg from 'pg';
import { type ApplyOutcome, applyToSlot, type Slot } from './apply.js';
import { BatchCommitter } from './batch-committer.js';
import { SQL } from './sql.js';

/** A projection a pool runs now, and the version it writes (the live one, not paused). */
export interface ActiveProjection {
  projection: AnyProjection;
  version: number;
  /**
   * When its registry row last changed (epoch ms): a change (a reactor's
   * replay moving its checkpoints back) makes runners reload the slot, even
   * a partition with no new events, whose checkpoint would otherwise be
   * found moved only at its next batch.
   */
  changedAt?: number;
}

/** Where one partition's batches go: what a partition runner, or a catch-up, applies them with. */
export interface PartitionTarget {
  /** The event store's pool: single-partition batches and parking. */
  pool: pg.Pool;
  partition: number;
  /** Group commit for `crossPartitionBatches` projections; without one every batch goes alone. */
  committer?: BatchCommitter;
  /** Counter projections' Redis (their scripts and checkpoints) and key prefix. */
  counters?: { redis: RedisClient; keyPrefix: string };
  logFor(projection: string): Logger;
  onBatch?(projection: string, outcome: ApplyOutcome, durationMs: number): void;
  /** Asked between single-partition batches: a stopping runner applies no more. */
  stopping?(): boolean;
}

/**
 * Applies one partition's `events` (ascending, read after the lowest of the
 * slots' checkpoints) to every slot due, moving each checkpoint to
 * `through`: batches that may share a transaction with other partitions'
 * go to the committer together, the rest (counters, projections without
 * `crossPartitionBatches`) are applied here one after the other
 * (`applyToSlot`, with its retries, parking and halting).
 */
export async function applyToSlots(
  target: PartitionTarget,
  slots: readonly Slot[],
  events: readonly RecordedEvent[],
  through: number,
): Promise<void> {
  const { committer, partition } = target;
  const due = slots.filter((slot) => !slot.halted && through > slot.position);
  // A partition with quarantined streams shares too: the shared transaction
  // looks its streams up and parks what it must (BatchCommitter).
  const shares = (slot: Slot): slot is Slot<Projection> => BatchCommitter.takes(slot);
  const shared: Slot<Projection>[] = committer ? due.filter(shares) : [];
  const alone = committer ? due.filter((slot) => !shares(slot)) : due;
  const started = performance.now();
  const results = await Promise.allSettled(
    shared.map(async (slot) => {
      const outcome = await committer!.apply(
        slot,
        partition,
        events,
        through,
        target.logFor(slot.projection.name),
      );
      target.onBatch?.(slot.projection.name, outcome, performance.now() - started);
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  for (const slot of alone) {
    if (target.stopping?.()) return;
    const began = performance.now();
    const outcome = await applyToSlot(
      target.pool,
      slot,
      partition,
      events,
      through,
      target.logFor(slot.projection.name),
      target.counters,
    );
    target.onBatch?.(slot.projection.name, outcome, performance.now() - began);
  }
}

/**
 * The slots of `active` on `partition` as stored: a table projection's
 * checkpoint row (with its halt), a counter projection's checkpoint in its
 * Redis hash (0 when the hash is gone).
 */
export async function readSlots(
  pool: pg.Pool,
  counters: { redis: RedisClient; keyPrefix: string } | undefined,
  partition: number,
  active: readonly ActiveProjection[],
): Promise<Slot[]> {
  const slots: Slot[] = [];
  for (const a of active.filter((m) => isCounterProjection(m.projection))) {
    if (!counters) throw new Error('counter projections need a Redis connection');
    const position = await counterCheckpoint(
      counters.redis,
      counters.keyPrefix,
      a.projection.name,
      a.version,
      partition,
    );
    slots.push({ ...a, position, halted: false });
  }
  const rowProjections = active.filter((m) => !isCounterProjection(m.projection));
  if (rowProjections.length === 0) return slots;
  const wanted = new Map(rowProjections.map((a) => [`${a.projection.name}@${a.version}`, a]));
  const rows = await pool.query<{
    projection: string;
    version: number;
    position: number;
    halted_at: number | null;
    quarantined: boolean;
  }>(SQL.loadCheckpoints, [
    rowProjections.map((a) => a.projection.name),
    rowProjections.map((a) => a.version),
    partition,
  ]);
  for (const row of rows.rows) {
    const a = wanted.get(`${row.projection}@${row.version}`)!;
    slots.push({
      projection: a.projection,
      version: a.version,
      position: row.position,
      halted: row.halted_at !== null,
      quarantined: row.quarantined,
    });
  }
  return slots;
}
