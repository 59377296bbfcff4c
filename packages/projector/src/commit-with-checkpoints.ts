import { withTransaction } from '@refract/event-store';
import type pg from 'pg';
import type { Slot } from './apply.js';
import { CHECKPOINTS_CHANNEL, checkpointNotice, NAMED } from './sql.js';

/** One partition checkpoint a batch moves: from where its reader found it to where the batch ends. */
export interface CheckpointMove {
  projection: string;
  version: number;
  partition: number;
  /** The position this batch starts after: what the reader last saw. */
  from: number;
  /** The position this batch ends at. */
  to: number;
  /**
   * Events of handled types the batch applies (parked ones not included):
   * added to the partition's applied count by the statement that moves the
   * checkpoint, for the completeness audit.
   */
  applied: number;
}

/**
 * The move of `slot`'s checkpoint on `partition` from where it stands to
 * `to`, applying `applied` events of handled types (0 for a move that is
 * only reported, never committed).
 */
export function checkpointMove(
  slot: Slot,
  partition: number,
  to: number,
  applied = 0,
): CheckpointMove {
  return {
    projection: slot.projection.name,
    version: slot.version,
    partition,
    from: slot.position,
    to,
    applied,
  };
}

/** A checkpoint was not where its reader believed (another worker moved it, or it is halted). Nothing was applied. */
export class CheckpointMoved extends Error {
  constructor(readonly refused: readonly CheckpointMove[]) {
    const [first] = refused;
    super(
      refused.length === 1 && first
        ? `checkpoint of ${first.projection} v${first.version} partition ${first.partition} moved`
        : `a checkpoint among ${refused.length} moved (${refused
            .map((m) => `${m.projection} v${m.version} p${m.partition}`)
            .join(', ')})`,
    );
  }
}

/**
 * The exactly-once batch transaction: `write` (the read-model writes) and
 * the compare-and-set of every checkpoint in `moves`, with its notice,
 * commit together or not at all. Two workers that both believe they own a
 * partition cannot both apply a batch: the second finds the checkpoint
 * moved and gets `CheckpointMoved`, its writes rolled back.
 *
 * On a pool in pipeline mode (`createPool({ pipeline: true })`) nothing
 * waits for the compare-and-set before `write` starts: BEGIN, the
 * compare-and-set and `write`'s first statements share one round trip, and
 * the compare-and-set is judged once every statement has answered, before
 * COMMIT. On any other pool `write` starts once the compare-and-set has
 * answered: the round trips are the same (such a client sends one statement
 * at a time), and pg deprecates queueing a statement behind another. Either
 * way its verdict comes first: a refused one is `CheckpointMoved` whatever
 * `write` did.
 * `write` must not return before its own statements have answered
 * (`allAnswered` helps when it issues several at once).
 */
export async function commitWithCheckpoints<T>(
  pool: pg.Pool,
  moves: readonly CheckpointMove[],
  write: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withTransaction(pool, async (client) => {
    const cas = client
      .query<{ moved: number }>(NAMED.advanceCheckpoints, [
        moves.map((m) => m.projection),
        moves.map((m) => m.version),
        moves.map((m) => m.partition),
        moves.map((m) => m.from),
        moves.map((m) => m.to),
        CHECKPOINTS_CHANNEL,
        moves.map((m) => checkpointNotice(m.projection, m.version, m.partition, m.to)),
        moves.map((m) => m.applied),
      ])
      .then(({ rows }) => {
        if (rows[0]?.moved !== moves.length) throw new CheckpointMoved(moves);
      });
    if (!(client as { pipeline?: boolean }).pipeline) {
      await cas;
      return write(client);
    }
    // Listed first, a refused compare-and-set is the cause whatever `write` did.
    const [moved, written] = await Promise.allSettled([cas, write(client)]);
    if (moved.status === 'rejected' || written.status === 'rejected') {
      throw firstCause([moved, written]);
    }
    return written.value;
  });
}

/**
 * Waits until every one of `statements` has answered (nothing else may go
 * on the connection before), then fails with the error that aborted the
 * transaction, if any.
 */
export async function allAnswered(statements: readonly Promise<unknown>[]): Promise<void> {
  const settled = await Promise.allSettled(statements);
  if (settled.some((r) => r.status === 'rejected')) throw firstCause(settled);
}

/** SQLSTATE of a statement sent into a transaction an earlier one had already aborted. */
const IN_FAILED_TRANSACTION = '25P02';

/**
 * The error that failed the transaction: the first rejection that is not
 * merely a statement refused because an earlier one had aborted it.
 */
function firstCause(settled: PromiseSettledResult<unknown>[]): unknown {
  const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  const cause = rejected.find(
    (r) => (r.reason as { code?: string } | null)?.code !== IN_FAILED_TRANSACTION,
  );
  return (cause ?? rejected[0])?.reason;
}
