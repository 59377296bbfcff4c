import { batchContext, type Projection, type RecordedEvent } from '@refract/core';
import { type EventStore, isConnectionError } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import {
  applyToSlot,
  CheckpointMoved,
  checkpointMove,
  commitWithCheckpoints,
  readVersionCheckpoints,
  type Slot,
} from '@refract/projector';

/** The checkpoints of `version`'s partitions, in one query. */
export async function loadSlots(
  store: EventStore,
  projection: Projection,
  version: number,
  partitions: readonly number[],
): Promise<Map<number, Slot>> {
  const rows = await readVersionCheckpoints(store.pool, projection.name, version, partitions);
  const slots = new Map(
    rows.map((r) => [
      r.partition,
      {
        projection,
        version,
        position: r.position,
        halted: r.halted,
        // A resumed rebuild must keep its quarantines: later events of a
        // parked stream wait behind it rather than being applied.
        quarantined: r.quarantined,
      } satisfies Slot,
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
  const lanes = [...targets]
    .map(([partition, target]) => ({ partition, target, slot: slotOf(slots, partition) }))
    .filter((lane) => lane.slot.position < lane.target)
    .sort((a, b) => a.partition - b.partition);
  let applied = 0;
  for (;;) {
    const behind = lanes.filter((lane) => lane.slot.position < lane.target);
    if (behind.length === 0) return applied;
    options.signal?.throwIfAborted();
    for (const { partition, slot } of behind) {
      if (slot.halted) throw new Error(`partition ${partition} halted on a poison event`);
    }
    const upTo = Math.max(...behind.map((lane) => lane.target));
    const events = await store.readAll({
      after: Math.min(...behind.map((lane) => lane.slot.position)),
      upTo,
      partitions: behind.map((lane) => lane.partition),
      types: [...projection.handles],
      limit: batchSize,
    });
    // A full page ends at its last event; the next page starts after it.
    const pageEnd = events.length === batchSize ? (events.at(-1)?.position ?? upTo) : upTo;
    const page: PageMove[] = [];
    for (const { partition, slot, target } of behind) {
      const through = Math.min(target, pageEnd);
      if (through > slot.position) page.push({ partition, slot, through, events: [] });
    }
    const byPartition = new Map(page.map((move) => [move.partition, move]));
    // The page runs to the furthest target; a partition whose own target is
    // nearer takes only its events up to that target, or they would be
    // applied now and again by whoever goes on from its checkpoint.
    for (const event of events) {
      const move = byPartition.get(event.partition);
      if (move && event.position > move.slot.position && event.position <= move.through) {
        move.events.push(event);
      }
    }
    applied += await applyPage(options, page);
  }
}

function slotOf(slots: ReadonlyMap<number, Slot>, partition: number): Slot {
  const slot = slots.get(partition);
  if (!slot) throw new Error(`no checkpoint loaded for partition ${partition}`);
  return slot;
}

/** A partition's share of a page: its checkpoint's move and the events up to where it moves. */
interface PageMove {
  partition: number;
  slot: Slot;
  through: number;
  events: RecordedEvent[];
}

async function applyPage(options: CatchUpOptions, page: readonly PageMove[]): Promise<number> {
  const { store, log } = options;
  // A page shared by several partitions applies its events without looking
  // up quarantined streams: once a partition has some, it goes through the
  // per-partition path, which parks their later events behind their heads.
  if (!page.some((m) => m.slot.quarantined)) {
    const applied = await applyShared(options, page);
    if (applied !== undefined) return applied;
  }
  let applied = 0;
  for (const { partition, slot, events, through } of page) {
    const outcome = await applyToSlot(store.pool, slot, partition, events, through, log);
    applied += outcome.applied;
    if (slot.halted) throw new Error(`partition ${partition} halted on a poison event`);
  }
  return applied;
}

/** The page in one transaction; undefined when it failed for a reason its partitions may not share. */
async function applyShared(
  { store, projection, version, log }: CatchUpOptions,
  page: readonly PageMove[],
): Promise<number | undefined> {
  try {
    // In partition order: the checkpoint rows are locked in key order anyway,
    // and each partition's events go to the projection as its own batch.
    const applied = await commitWithCheckpoints(
      store.pool,
      // The page was read with the projection's types only: every event is applied.
      page.map((m) => checkpointMove(m.slot, m.partition, m.through, m.events.length)),
      async (client) => {
        let count = 0;
        for (const { partition, events } of page) {
          if (events.length === 0) continue;
          await projection.applyBatch(events, batchContext(client, projection, version, partition));
          count += events.length;
        }
        return count;
      },
    );
    for (const m of page) m.slot.position = m.through;
    return applied;
  } catch (error) {
    if (error instanceof CheckpointMoved || isConnectionError(error)) throw error;
    log.warn(
      { err: error, partitions: page.length },
      'catch-up page failed; applying it partition by partition',
    );
    return undefined;
  }
}
