import { setTimeout } from 'node:timers/promises';
import {
  type AnyProjection,
  backoffDelayMs,
  batchContext,
  type CounterProjection,
  isCounterProjection,
  type Projection,
  type RecordedEvent,
} from '@refract/core';
import { isConnectionError, withTransaction } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import type { RedisClient } from '@refract/stream-bus';
import { applyCounterBatch, unfreezeCounters } from '@refract/stream-bus';
import type pg from 'pg';
import {
  CheckpointMoved,
  checkpointMove,
  commitWithCheckpoints,
} from './commit-with-checkpoints.js';
import { SQL } from './sql.js';
import { lockProjection } from './versions.js';

/** A projection version as one partition runner sees it: where its checkpoint stands. */
export interface Slot<P extends AnyProjection = AnyProjection> {
  projection: P;
  version: number;
  position: number;
  halted: boolean;
}

export interface ApplyOutcome {
  applied: number;
  parked: number;
  halted: boolean;
}

/** Deadlocks and serialization failures: the batch was fine, the timing was not. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40P01' || code === '40001' || isConnectionError(error);
}

/**
 * One batch of one partition, exactly once (`commitWithCheckpoints`): the
 * checkpoint moves from `slot.position` to `through` together with the
 * handled events' writes and, when parking, the parked row.
 */
async function commitBatch(
  pool: pg.Pool,
  slot: Slot<Projection>,
  partition: number,
  events: readonly RecordedEvent[],
  through: number,
  park?: { event: RecordedEvent; error: string; attempts: number },
): Promise<number> {
  const { projection, version } = slot;
  const handled = events.filter((event) => projection.handles.includes(event.type));
  await commitWithCheckpoints(pool, [checkpointMove(slot, partition, through)], async (client) => {
    if (handled.length > 0) {
      await projection.applyBatch(handled, batchContext(client, projection, version, partition));
    }
    if (park) {
      await client.query(SQL.parkEvent, [
        projection.name,
        version,
        partition,
        park.event.position,
        park.event.streamId,
        park.event.type,
        park.error,
        park.attempts,
      ]);
    }
  });
  slot.position = through;
  return handled.length;
}

/**
 * Applies `events` (one partition, ascending, all after the slot's
 * checkpoint) and moves the checkpoint to `through`. A failing batch is
 * retried; if it keeps failing, the events are applied one by one so that
 * only the poison event is retried with backoff and then parked (the
 * checkpoint moves past it, in the same transaction as the parked row) or
 * halts the partition, as the projection says. Infrastructure failures
 * (lost connections) are thrown to the caller, never parked. `log` is bound
 * to the projection by the caller, not to the partition: its lines name the
 * partition themselves, so a log bound to both would repeat a key.
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

async function applyRows(
  pool: pg.Pool,
  slot: Slot<Projection>,
  partition: number,
  events: readonly RecordedEvent[],
  through: number,
  log: Logger,
): Promise<ApplyOutcome> {
  const pending = events.filter((event) => event.position > slot.position);
  if (through <= slot.position) return { applied: 0, parked: 0, halted: false };
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return {
        applied: await commitBatch(pool, slot, partition, pending, through),
        parked: 0,
        halted: false,
      };
    } catch (error) {
      if (error instanceof CheckpointMoved || isConnectionError(error)) throw error;
      lastError = error;
      if (!isTransient(error)) break;
      await setTimeout(10 * attempt);
    }
  }
  const { projection } = slot;
  log.warn(
    { err: lastError, partition, events: pending.length },
    'batch failed; applying its events one by one',
  );
  let applied = 0;
  let parked = 0;
  for (const event of pending) {
    if (!projection.handles.includes(event.type)) continue;
    let failure: unknown;
    for (let attempt = 1; attempt <= projection.maxAttempts; attempt++) {
      try {
        applied += await commitBatch(pool, slot, partition, [event], event.position);
        failure = undefined;
        break;
      } catch (error) {
        if (error instanceof CheckpointMoved || isConnectionError(error)) throw error;
        failure = error;
        if (attempt < projection.maxAttempts) {
          await setTimeout(
            backoffDelayMs(attempt, { baseMs: projection.retryBackoffMs, jitter: 0 }),
          );
        }
      }
    }
    if (failure === undefined) continue;
    const message = failure instanceof Error ? failure.message : String(failure);
    if (projection.onError === 'halt') {
      const halted = await pool.query(SQL.haltPartition, [
        projection.name,
        slot.version,
        partition,
        slot.position,
        event.position,
      ]);
      if (halted.rowCount === 0) {
        throw new CheckpointMoved([checkpointMove(slot, partition, event.position)]);
      }
      slot.halted = true;
      log.error(
        { partition, position: event.position, err: failure },
        'poison event: partition halted',
      );
      return { applied, parked, halted: true };
    }
    // Park: the checkpoint moves past the event, nothing of it is applied.
    await commitBatch(pool, slot, partition, [], event.position, {
      event,
      error: message,
      attempts: projection.maxAttempts,
    });
    parked += 1;
    log.error({ partition, position: event.position, err: failure }, 'poison event parked');
  }
  if (through > slot.position) {
    applied += await commitBatch(pool, slot, partition, [], through);
  }
  return { applied, parked, halted: false };
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
