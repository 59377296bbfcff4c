import { Progress } from '../progress.js';
import { PhaseTimeoutError } from '../run-ordered.js';
import type { BenchEvent } from '../workload.js';
import { connect, multiRowInsert, rowParams } from './insert-rows.js';

export interface MultiRowInsertOptions {
  phase: string;
  rowsPerStatement: number;
  timeLimitMs: number;
}

/**
 * The raw ceiling of batched appends: the events, in workload order, as
 * multi-row INSERT statements of `rowsPerStatement` rows (each its own
 * transaction, committed), over one connection, prepared once. Also the
 * fast loader of the backlog phase. Returns the elapsed milliseconds.
 */
export async function insertMultiRow(
  databaseUrl: string,
  events: readonly BenchEvent[],
  options: MultiRowInsertOptions,
): Promise<number> {
  const { rowsPerStatement: size } = options;
  const client = await connect(databaseUrl);
  const progress = new Progress(options.phase, events.length);
  try {
    const full = { name: `bench-insert-${size}`, text: multiRowInsert(size) };
    const started = performance.now();
    const deadline = started + options.timeLimitMs;
    for (let from = 0; from < events.length; from += size) {
      if (performance.now() > deadline)
        throw new PhaseTimeoutError(options.phase, options.timeLimitMs);
      const rows = events.slice(from, from + size);
      const statement =
        rows.length === size
          ? full
          : { name: `bench-insert-${rows.length}`, text: multiRowInsert(rows.length) };
      await client.query({ ...statement, values: rows.flatMap(rowParams) });
      progress.add(rows.length);
    }
    const elapsed = performance.now() - started;
    progress.finish();
    return elapsed;
  } catch (error) {
    progress.abort();
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
