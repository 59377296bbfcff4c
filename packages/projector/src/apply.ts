import {
  type AnyProjection,
  type CounterProjection,
  isCounterProjection,
  type Projection,
  type RecordedEvent,
} from '@refract/core';
import { withTransaction } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import type { RedisClient } from '@refract/stream-bus';
import { applyCounterBatch, unfreezeCounters } from '@refract/stream-bus';
import type pg from 'pg';
import { applyRows } from './apply-rows.js';
import { CheckpointMoved, checkpointMove } from './commit-with-checkpoints.js';
import { SQL } from './sql.js';
import { lockProjection } from './versions.js';

/** A projection version as one partition runner sees it: where its checkpoint stands. */
export interface Slot<P extends AnyProjection = AnyProjection> {
  projection: P;
  version: number;
  position: number;
  halted: boolean;
  /**
   * The partition has quarantined streams (open parked events) for this
   * version: its batches look them up, and go alone, not in shared
   * transactions. Set when loaded and when a batch parks.
   */
  quarantined?: boolean;
}

export interface ApplyOutcome {
  applied: number;
  parked: number;
  halted: boolean;
}

/**
 * Applies `events` (one partition, ascending, all after the slot's
 * checkpoint) and moves the checkpoint to `through`: a table projection's
 * through `applyRows` (transient failures retried, deterministic ones
 * isolated and parked, their streams quarantined), a counter projection's
 * in one Redis script. Lost connections are thrown to the caller, never parked.
 */
export async function applyToSlot(
  pool: pg.Pool,
  slot: Slot,
  partition: number,
  events: readonly RecordedEvent[],
  through: number,
  log: Logger,
  counters?: { redis: RedisClient; keyPrefix: string },
): Promise<ApplyOutcome> {
  if (isCounterProjection(slot.projection)) {
    if (!counters) throw new Error('counter projections need a Redis connection');
    return applyCounters(
      pool,
      slot as Slot<CounterProjection>,
      partition,
      events,
      through,
      log,
      counters,
    );
  }
  return applyRows(pool, slot as Slot<Projection>, partition, events, through, log);
}

/**
 * A counter projection's batch: increments and the checkpoint move in one
 * Lua script. An event whose fold throws is parked (recorded in Postgres)
 * and left out; the rest of the batch goes on.
 */
async function applyCounters(
  pool: pg.Pool,
  slot: Slot<CounterProjection>,
  partition: number,
  events: readonly RecordedEvent[],
  through: number,
  log: Logger,
  { redis, keyPrefix }: { redis: RedisClient; keyPrefix: string },
): Promise<ApplyOutcome> {
  const { projection } = slot;
  if (through <= slot.position) return { applied: 0, parked: 0, halted: false };
  const handled = events.filter(
    (event) => event.position > slot.position && projection.handles.includes(event.type),
  );
  let increments: Record<string, number>;
  let parked = 0;
  let applied = handled.length;
  try {
    increments = projection.increments(handled);
  } catch {
    increments = {};
    applied = 0;
    for (const event of handled) {
      try {
        for (const [field, delta] of Object.entries(projection.increments([event]))) {
          increments[field] = (increments[field] ?? 0) + delta;
        }
        applied += 1;
      } catch (error) {
        await pool.query(SQL.parkEvent, [
          projection.name,
          slot.version,
          partition,
          event.position,
          event.streamId,
          event.type,
          error instanceof Error ? error.message : String(error),
          1,
        ]);
        parked += 1;
        log.error({ partition, position: event.position, err: error }, 'poison event parked');
      }
    }
  }
  const answer = await applyCounterBatch(
    redis,
    keyPrefix,
    projection.name,
    slot.version,
    partition,
    slot.position,
    through,
    increments,
  );
  if (answer === 'frozen') await settleCounterFreeze(pool, slot, partition, { redis, keyPrefix });
  if (answer !== 'applied') throw new CheckpointMoved([checkpointMove(slot, partition, through)]);
  slot.position = through;
  return { applied, parked, halted: false };
}

/**
 * A rebuild froze this version while it swaps it out, inside a transaction
 * that holds the projection's registry row. Waiting for that row is waiting
 * for the swap to end: when it committed, the caller goes on with the new
 * live version (CheckpointMoved reloads it); when the version is still live,
 * the swap rolled back or its process died between freezing and committing,
 * and the freeze, left behind, is lifted here, under the row, where no swap
 * can be half-way.
 */
export async function settleCounterFreeze(
  pool: pg.Pool,
  slot: Slot<CounterProjection>,
  partition: number,
  { redis, keyPrefix }: { redis: RedisClient; keyPrefix: string },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    if ((await lockProjection(client, slot.projection.name)) === slot.version) {
      await unfreezeCounters(redis, keyPrefix, slot.projection.name, slot.version, partition);
    }
  });
}
