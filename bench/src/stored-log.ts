import { insertMultiRow } from './baselines/multi-row-insert.js';
import { lastPositions, positionsByPartition } from './checkpoints.js';
import { resetLog, settle, VerificationError } from './event-log.js';
import { logPartitions } from './partition-streams.js';
import type { BenchPlan } from './plan.js';
import { resetProjections } from './read-models.js';
import type { BenchStack } from './stack.js';
import { type BenchEvent, loadWorkload } from './workload.js';

/** A stored, published log and what the checks need of it. */
export interface StoredLog {
  events: BenchEvent[];
  head: number;
  /** The last position of each partition. */
  heads: number[];
  positionsByPartition: number[][];
  /** The partition of every position (index 0 unused). */
  partitionOf: Int16Array;
}

/**
 * Empties log and projections, stores the first `count` events (through
 * `transform`) with the
 * raw multi-row loader, and checks the log is positions 1..count. Then
 * vacuumed and checkpointed: a backlog has sat for a while.
 */
export async function storeLog(
  stack: BenchStack,
  plan: BenchPlan,
  phase: string,
  count: number,
  /** Changes the events before they are stored (the poison part malforms some). */
  transform: (events: BenchEvent[]) => BenchEvent[] = (events) => events,
): Promise<StoredLog> {
  const events = transform(loadWorkload(plan.n, count, stack.partitions));
  await resetLog(stack.db);
  await resetProjections(stack.db);
  await insertMultiRow(stack.databaseUrl, events, {
    phase: `${phase}.load`,
    rowsPerStatement: plan.append.rawRowsPerStatement,
    timeLimitMs: plan.phaseTimeoutMs,
  });
  const partitionOf = await logPartitions(stack.db);
  const head = partitionOf.length - 1;
  if (head !== events.length || partitionOf.includes(-1, 1)) {
    throw new VerificationError(phase, `the loaded log is not positions 1..${events.length}`);
  }
  const byPartition = positionsByPartition(partitionOf, stack.partitions);
  await settle(stack.db);
  return {
    events,
    head,
    heads: lastPositions(byPartition),
    positionsByPartition: byPartition,
    partitionOf,
  };
}
