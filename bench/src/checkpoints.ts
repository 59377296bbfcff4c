import type pg from 'pg';
import { logPartitions } from './partition-streams.js';
import { Progress } from './progress.js';
import { PhaseTimeoutError } from './run-ordered.js';
import { SQL } from './sql.js';

/** How often checkpoints are read while projections catch up. */
const POLL_MS = 10;

/** Each partition's last position (0 for a partition without events). */
export function lastPositions(byPartition: readonly (readonly number[])[]): number[] {
  return byPartition.map((positions) => positions[positions.length - 1] ?? 0);
}

/** Checkpoint rows of the live versions of `projections`. */
async function readCheckpoints(
  db: pg.Pool,
  projections: readonly string[],
): Promise<{ projection: string; partition: number; position: number }[]> {
  return (await db.query(SQL.projectionCheckpoints, [projections])).rows;
}

/**
 * The events a set of checkpoints has covered, per projection: for each
 * partition, how many of its events lie at or below its checkpoint.
 * `positionsByPartition` holds each partition's positions, ascending.
 */
export function coveredEvents(
  positionsByPartition: readonly (readonly number[])[],
  checkpoint: (partition: number) => number,
): number {
  let covered = 0;
  positionsByPartition.forEach((positions, partition) => {
    const at = checkpoint(partition);
    let low = 0;
    let high = positions.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (positions[middle]! <= at) low = middle + 1;
      else high = middle;
    }
    covered += low;
  });
  return covered;
}

export interface CatchUpTiming {
  /** From the first checkpoint row of the projections (the worker registered them) to every checkpoint at its head. */
  ms: number;
  /** From the call (just after the workers were spawned) to every checkpoint at its head. */
  sinceCallMs: number;
}

/**
 * Waits until every checkpoint of `projections` has reached its partition's
 * head, reading them every few ms. The clock starts when their checkpoint
 * rows first exist (the tables were dropped before, so a worker has just
 * registered them): process start-up is not the projection's speed.
 * Progress: events covered, averaged over the projections.
 */
export async function untilCaughtUp(options: {
  db: pg.Pool;
  phase: string;
  projections: readonly string[];
  heads: readonly number[];
  positionsByPartition: readonly (readonly number[])[];
  timeLimitMs: number;
  /** Resolves false while the workers run; a worker that exits ends the wait with an error. */
  failure?: () => Error | undefined;
}): Promise<CatchUpTiming> {
  const { db, projections, heads } = options;
  const called = performance.now();
  const total = options.positionsByPartition.reduce((sum, p) => sum + p.length, 0);
  const progress = new Progress(options.phase, total);
  let registeredAt: number | undefined;
  let reported = 0;
  try {
    for (;;) {
      const now = performance.now();
      if (now - called > options.timeLimitMs) {
        throw new PhaseTimeoutError(options.phase, options.timeLimitMs);
      }
      const failure = options.failure?.();
      if (failure) throw failure;
      const rows = await readCheckpoints(db, projections);
      if (rows.length > 0) registeredAt ??= now;
      const at = new Map<string, number>();
      for (const row of rows) at.set(`${row.projection}:${row.partition}`, row.position);
      let done = true;
      let covered = 0;
      for (const projection of projections) {
        const checkpoint = (partition: number) => at.get(`${projection}:${partition}`) ?? -1;
        heads.forEach((head, partition) => {
          if (checkpoint(partition) < head) done = false;
        });
        covered += coveredEvents(options.positionsByPartition, (p) => Math.max(0, checkpoint(p)));
      }
      const average = Math.floor(covered / projections.length);
      progress.add(average - reported);
      reported = average;
      if (done && registeredAt !== undefined) {
        const end = performance.now();
        progress.finish();
        return { ms: end - registeredAt, sinceCallMs: end - called };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    progress.abort();
    throw error;
  }
}

/** Each partition's positions, ascending, from the partition of every position (logPartitions). */
export function positionsByPartition(partitionOf: Int16Array, partitions: number): number[][] {
  const result = Array.from({ length: partitions }, () => [] as number[]);
  for (let position = 1; position < partitionOf.length; position++) {
    const partition = partitionOf[position]!;
    if (partition >= 0) result[partition]!.push(position);
  }
  return result;
}

/**
 * Waits until the projections have applied the whole log as it is now:
 * after a phase's appends, the drain before its tables are checked.
 */
export async function untilLogApplied(options: {
  db: pg.Pool;
  partitions: number;
  phase: string;
  projections: readonly string[];
  timeLimitMs: number;
  failure?: () => Error | undefined;
}): Promise<void> {
  const byPartition = positionsByPartition(await logPartitions(options.db), options.partitions);
  await untilCaughtUp({
    ...options,
    heads: lastPositions(byPartition),
    positionsByPartition: byPartition,
  });
}
