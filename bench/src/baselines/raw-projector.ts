import { batchContext, type Projection } from '@refract/core';
import { EventStore } from '@refract/event-store';
import { Progress } from '../progress.js';
import { PhaseTimeoutError } from '../run-ordered.js';
import { connect } from './insert-rows.js';

export interface RawProjectorOptions {
  phase: string;
  databaseUrl: string;
  projections: readonly Projection[];
  /** Events per read and per transaction: the workers' batch size. */
  batchSize: number;
  /** The last position to apply. */
  head: number;
  timeLimitMs: number;
}

/**
 * The raw ceiling of the projector: the stored events read straight from
 * the events table in position order, a page at a time, and applied with
 * the projections' own batched upserts (their `applyBatch`: the same SQL,
 * the same money rules) in one transaction per page, over one connection,
 * in this process. No Redis, no partitions, no checkpoints, no leases. The
 * tables must exist (registered) and be empty. Returns the elapsed ms.
 */
export async function applyRaw(options: RawProjectorOptions): Promise<number> {
  const { projections, batchSize, head } = options;
  const store = await EventStore.open({
    databaseUrl: options.databaseUrl,
    poolSize: 1,
    applicationName: 'refract-bench-raw',
  });
  const client = await connect(options.databaseUrl);
  const progress = new Progress(options.phase, head);
  try {
    const started = performance.now();
    const deadline = started + options.timeLimitMs;
    let after = 0;
    while (after < head) {
      if (performance.now() > deadline)
        throw new PhaseTimeoutError(options.phase, options.timeLimitMs);
      const events = await store.readAll({ after, upTo: head, limit: batchSize });
      if (events.length === 0)
        throw new Error(`${options.phase}: the log ends at ${after}, before ${head}`);
      await client.query('BEGIN');
      for (const projection of projections) {
        await projection.applyBatch(
          events,
          batchContext(client, projection, projection.version, -1),
        );
      }
      await client.query('COMMIT');
      after = events[events.length - 1]!.position;
      progress.add(events.length);
    }
    const elapsed = performance.now() - started;
    progress.finish();
    return elapsed;
  } catch (error) {
    progress.abort();
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
    await store.close();
  }
}
