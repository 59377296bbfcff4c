import type { EventStore } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import type { RedisClient } from '@refract/stream-bus';
import type pg from 'pg';
import type { ApplyOutcome } from './apply.js';
import { type ActiveProjection, applyToSlots, readSlots } from './apply-slots.js';
import { BatchCommitter, SHARED_TRANSACTIONS } from './batch-committer.js';

export interface CatchUpOptions {
  store: EventStore;
  /** The projections (registered) and the version of each to bring up to `upTo`. */
  projections: readonly ActiveProjection[];
  /**
   * Where every partition's checkpoint ends: a position no append still in
   * flight can fall below (after the appends were answered, the store's
   * `headPosition()`).
   */
  upTo: number;
  /** Events per batch transaction. @defaultValue 500 */
  batchSize?: number;
  /**
   * Where shared batch transactions run, as the worker's: a pool in pg's
   * pipeline mode (`createPool({ pipeline: true })`). @defaultValue the store's pool
   */
  sharedPool?: pg.Pool;
  /** Needed when a counter projection is among `projections`. */
  counters?: { redis: RedisClient; keyPrefix: string };
  log: Logger;
}

export interface CatchUpResult {
  /** Events handed to a handler and committed. */
  applied: number;
  /** Events parked as poison. */
  parked: number;
  /** Partitions a poison event halted (`onError: 'halt'`); their checkpoints stay before it. */
  halted: number;
}

/**
 * Brings every partition of `projections` from its stored checkpoint to
 * `upTo` the way a worker's partition runners catch up from Postgres: all
 * partitions at once, each reading its events a batch at a time and applying
 * them through the same path (`applyToSlots`), so batches of
 * `crossPartitionBatches` projections share transactions in a committer
 * like the worker's, and counters, retries, parking and halting are the
 * worker's own. Exactly once: a checkpoint already at `upTo` applies
 * nothing again. For tests and tools that want a projection up to date now,
 * with no Redis stream, lease or relay in between.
 */
export async function catchUp(options: CatchUpOptions): Promise<CatchUpResult> {
  const { store, projections, upTo, counters, log } = options;
  const batchSize = options.batchSize ?? 500;
  const committer = new BatchCommitter(store.pool, {
    concurrency: SHARED_TRANSACTIONS,
    sharedPool: options.sharedPool,
    log,
  });
  const logs = new Map(
    projections.map((a) => [a.projection.name, log.child({ projection: a.projection.name })]),
  );
  const result: CatchUpResult = { applied: 0, parked: 0, halted: 0 };
  const partitions = [...Array(store.partitions).keys()];
  const settled = await Promise.allSettled(
    partitions.map(async (partition) => {
      const slots = await readSlots(store.pool, counters, partition, projections);
      const target = {
        pool: store.pool,
        partition,
        committer,
        counters,
        logFor: (name: string) => logs.get(name) ?? log,
        onBatch: (_: string, outcome: ApplyOutcome) => {
          result.applied += outcome.applied;
          result.parked += outcome.parked;
          if (outcome.halted) result.halted += 1;
        },
      };
      for (;;) {
        const behind = slots.filter((slot) => !slot.halted && slot.position < upTo);
        if (behind.length === 0) return;
        const events = await store.readAll({
          after: Math.min(...behind.map((slot) => slot.position)),
          upTo,
          partitions: [partition],
          limit: batchSize,
        });
        const through = events.length === batchSize ? events.at(-1)!.position : upTo;
        await applyToSlots(target, behind, events, through);
      }
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return result;
}
