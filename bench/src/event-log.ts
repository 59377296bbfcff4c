import type pg from 'pg';
import { SQL } from './sql.js';
import type { BenchEvent } from './workload.js';

// Pools come from the event store's createPool: bigint columns arrive as numbers.

/** Empties the log (events, streams, snapshots, relay checkpoints) and restarts positions at 1. */
export async function resetLog(db: pg.Pool): Promise<void> {
  await db.query(SQL.resetLog);
}

/**
 * Puts Postgres in the same state before every timed phase: dead rows of
 * the previous phase vacuumed away, dirty pages flushed, so that no phase
 * pays for its predecessor's checkpoint.
 */
export async function settle(db: pg.Pool): Promise<void> {
  await db.query('VACUUM (ANALYZE) refract.events, refract.streams');
  await db.query('CHECKPOINT');
}

export class VerificationError extends Error {
  constructor(phase: string, problem: string) {
    super(`${phase}: verification failed: ${problem}`);
    this.name = 'VerificationError';
  }
}

const PAGE = 50_000;

/** One row of the log as verification reads it. */
export interface LogRow {
  position: number;
  event_id: string;
  stream_id: string;
  version: number;
  partition: number;
}

/** The whole log in position order, a page at a time. */
export async function* readLog(db: pg.Pool): AsyncGenerator<LogRow> {
  let after = 0;
  for (;;) {
    const page = await db.query<LogRow>(SQL.readLogPage, [after, PAGE]);
    yield* page.rows;
    if (page.rows.length < PAGE) return;
    after = page.rows[page.rows.length - 1]!.position;
  }
}

/**
 * Checks that the log holds exactly `events`: each id once, in its stream
 * at its version and partition, nothing else. With `streamOrder`, also that
 * each stream's positions ascend with its versions (appends that honour
 * stream order; the raw single-row baseline does not, it has no such check).
 */
export async function verifyLog(
  db: pg.Pool,
  phase: string,
  events: readonly BenchEvent[],
  { streamOrder }: { streamOrder: boolean },
): Promise<void> {
  const byId = new Map<string, BenchEvent>();
  for (const event of events) byId.set(event.id, event);
  const lastVersion = new Map<string, number>();
  const seen = new Set<string>();
  for await (const row of readLog(db)) {
    const expected = byId.get(row.event_id);
    if (!expected) throw new VerificationError(phase, `unexpected event ${row.event_id}`);
    if (seen.has(row.event_id)) {
      throw new VerificationError(phase, `event ${row.event_id} stored twice`);
    }
    seen.add(row.event_id);
    const { version } = row;
    if (
      row.stream_id !== expected.streamId ||
      version !== expected.version ||
      row.partition !== expected.partition
    ) {
      throw new VerificationError(
        phase,
        `event ${row.event_id} is ${row.stream_id}@${version} (partition ${row.partition}), expected ${expected.streamId}@${expected.version} (partition ${expected.partition})`,
      );
    }
    if (streamOrder) {
      const previous = lastVersion.get(row.stream_id) ?? -1;
      if (version !== previous + 1) {
        throw new VerificationError(
          phase,
          `${row.stream_id}: version ${version} at position ${row.position} after version ${previous}`,
        );
      }
      lastVersion.set(row.stream_id, version);
    }
  }
  if (seen.size !== events.length) {
    throw new VerificationError(phase, `${seen.size} events stored, expected ${events.length}`);
  }
}
