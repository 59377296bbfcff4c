import { batchContext, type Projection, type RecordedEvent } from '@refract/core';
import { type EventStore, isConnectionError, withTransaction } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import {
  applyToSlot,
  CHECKPOINTS_CHANNEL,
  CheckpointMoved,
  checkpointNotice,
  type Slot,
} from '@refract/projector';
import { SQL } from './sql.js';

/** The checkpoints of `version`'s partitions, in one query. */
export async function loadSlots(
  store: EventStore,
  projection: Projection,
  version: number,
  partitions: readonly number[],
): Promise<Map<number, Slot>> {
  const rows = await store.pool.query<{ partition: number; position: number; halted: boolean }>(
    SQL.loadRebuildSlots,
    [projection.name, version, partitions],
  );
  const slots = new Map(
    rows.rows.map((r) => [
      r.partition,
      { projection, version, position: r.position, halted: r.halted } satisfies Slot,
    ]),
  );
  for (const partition of partitions) {
    if (!slots.has(partition)) {
      throw new Error(`no checkpoint for ${projection.name} v${version} partition ${partition}`);
    }
  }
  return slots;
}

export interface CatchUpOptions {
  store: EventStore;
  projection: Projection;
  /** The version being built; nobody but the rebuild writes it before the swap. */
  version: number;
  slots: ReadonlyMap<number, Slot>;
  /** Where each partition must get to. */
  targets: ReadonlyMap<number, number>;
  batchSize: number;
  log: Logger;
  signal?: AbortSignal;
}

/**
 * Brings several partitions to their targets a page of the log at a time,
 * each page read once for all of them (position order) and applied in one
 * transaction: every partition's checkpoint compare-and-set, each
 * partition's events as its own batch (the projection's contract: one
 * partition per batch), one commit. A small catch-up over 32 partitions is
 * then one read and one commit instead of 32 of each, which is what keeps
 * the rounds before the swap, and the swap's pause, short.
 *
 * A page that fails for any other reason than a moved checkpoint or a lost
 * connection is handed to the worker's per-partition path (`applyToSlot`),
 * whose retries, parking and halting then decide, exactly as in a
 * per-partition replay; nothing of the failed transaction was committed.
 */
export async function catchUpTogether(options: CatchUpOptions): Promise<number> {
  const { store, projection, slots, targets, batchSize } = options;
  const partitions = [...targets.keys()].filter((p) => slots.get(p)!.position < targets.get(p)!);
  let applied = 0;
  for (;;) {
    const behind = partitions.filter((p) => slots.get(p)!.position < targets.get(p)!);
    if (behind.length === 0) return applied;
    options.signal?.throwIfAborted();
    for (const partition of behind) {
      if (slots.get(partition)!.halted) {
        throw new Error(`partition ${partition} halted on a poison event`);
      }
    }
    const after = Math.min(...behind.map((p) => slots.get(p)!.position));
    const upTo = Math.max(...behind.map((p) => targets.get(p)!));
    const events = await store.readAll({
      after,
      upTo,
      partitions: behind,
      types: [...projection.handles],
      limit: batchSize,
    });
    // A full page ends at its last event; the next page starts after it.
    const pageEnd = events.length === batchSize ? events[events.length - 1]!.position : upTo;
    const moves = new Map<number, { through: number; events: RecordedEvent[] }>();
    for (const partition of behind) {
      const through = Math.min(targets.get(partition)!, pageEnd);
      if (through > slots.get(partition)!.position) moves.set(partition, { through, events: [] });
    }
    // The page runs to the furthest target; a partition whose own target is
    // nearer takes only its events up to that target, or they would be
    // applied now and again by whoever goes on from its checkpoint.
    for (const event of events) {
      const move = moves.get(event.partition);
      if (
        move &&
        event.position > slots.get(event.partition)!.position &&
        event.position <= move.through
      ) {
        move.events.push(event);
      }
    }
    applied += await applyPage(options, moves);
  }
}

async function applyPage(
  { store, projection, version, slots, log }: CatchUpOptions,
  moves: ReadonlyMap<number, { through: number; events: RecordedEvent[] }>,
): Promise<number> {
  const partitions = [...moves.keys()].sort((a, b) => a - b);
  try {
    const applied = await withTransaction(store.pool, async (client) => {
      const locked = await client.query<{ partition: number; position: number; halted: boolean }>(
        SQL.lockRebuildCheckpoints,
        [projection.name, version, partitions],
      );
      const at = new Map(locked.rows.map((r) => [r.partition, r]));
      for (const partition of partitions) {
        const row = at.get(partition);
        const slot = slots.get(partition)!;
        if (!row || row.halted || row.position !== slot.position) {
          throw new CheckpointMoved(slot, partition);
        }
      }
      await client.query(SQL.advanceRebuildCheckpoints, [
        projection.name,
        version,
        partitions,
        partitions.map((p) => moves.get(p)!.through),
      ]);
      let count = 0;
      for (const partition of partitions) {
        const { events } = moves.get(partition)!;
        if (events.length === 0) continue;
        await projection.applyBatch(events, batchContext(client, projection, version, partition));
        count += events.length;
      }
      await client.query('SELECT pg_notify($1, n) FROM unnest($2::text[]) AS n', [
        CHECKPOINTS_CHANNEL,
        partitions.map((p) => checkpointNotice(projection.name, version, p, moves.get(p)!.through)),
      ]);
      return count;
    });
    for (const partition of partitions)
      slots.get(partition)!.position = moves.get(partition)!.through;
    return applied;
  } catch (error) {
    if (error instanceof CheckpointMoved || isConnectionError(error)) throw error;
    log.warn(
      { err: error, partitions: partitions.length },
      'catch-up page failed; applying it partition by partition',
    );
  }
  let applied = 0;
  for (const partition of partitions) {
    const slot = slots.get(partition)!;
    const { events, through } = moves.get(partition)!;
    const outcome = await applyToSlot(store.pool, slot, partition, events, through, log);
    applied += outcome.applied;
    if (slot.halted) throw new Error(`partition ${partition} halted on a poison event`);
  }
  return applied;
}
