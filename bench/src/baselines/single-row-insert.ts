import { Progress } from '../progress.js';
import { PhaseTimeoutError } from '../run-ordered.js';
import { SQL } from '../sql.js';
import type { BenchEvent } from '../workload.js';
import { connect, rowParams } from './insert-rows.js';

export interface SingleRowInsertOptions {
  phase: string;
  connections: number;
  timeLimitMs: number;
}

/**
 * The raw ceiling of one-event appends: every event its own single-row
 * INSERT transaction (autocommit), from `connections` connections that take
 * events from one shared queue. Returns the elapsed milliseconds.
 */
export async function insertSingleRows(
  databaseUrl: string,
  events: readonly BenchEvent[],
  options: SingleRowInsertOptions,
): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: options.connections }, () => connect(databaseUrl)),
  );
  const progress = new Progress(options.phase, events.length);
  const statement = { name: 'bench-insert-1', text: SQL.insertEvent };
  let next = 0;
  let failure: unknown;
  try {
    const started = performance.now();
    const deadline = started + options.timeLimitMs;
    await Promise.all(
      clients.map(async (client) => {
        while (failure === undefined && next < events.length) {
          if (performance.now() > deadline) {
            failure = new PhaseTimeoutError(options.phase, options.timeLimitMs);
            return;
          }
          const event = events[next++]!;
          try {
            await client.query({ ...statement, values: rowParams(event) });
            progress.add(1);
          } catch (error) {
            failure ??= error;
          }
        }
      }),
    );
    if (failure !== undefined) throw failure;
    const elapsed = performance.now() - started;
    progress.finish();
    return elapsed;
  } catch (error) {
    progress.abort();
    throw error;
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => {})));
  }
}
