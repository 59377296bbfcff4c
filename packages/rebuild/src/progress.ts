import type { Projection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import { readPublishedPosition } from '@refract/relay';
import type { RebuildOptions, RebuildProgress } from './rebuild.js';
import { SQL } from './sql.js';

/**
 * A replay's progress: `add` what was applied, `report` now (the total is
 * counted up to what the relay has published, which is what a replay reads), `reportNowAndThen` at most every
 * `progressIntervalMs` (periodic, not per batch: a report counts the handled
 * events of the log).
 */
export function progressReporter(
  store: EventStore,
  projection: Pick<Projection, 'handles'>,
  options: Pick<RebuildOptions, 'onProgress' | 'progressIntervalMs' | 'relayName'>,
) {
  const handled = handledCounter(store, projection);
  const started = Date.now();
  let processed = 0;
  let reportedAt = 0;
  const report = async (): Promise<RebuildProgress> => {
    reportedAt = Date.now();
    const total = await handled.upTo(await readPublishedPosition(store.pool, options.relayName));
    const seconds = (Date.now() - started) / 1000;
    const eventsPerSecond = seconds > 0 ? processed / seconds : 0;
    const progress: RebuildProgress = {
      processed,
      total,
      eventsPerSecond: Math.round(eventsPerSecond),
      etaSeconds: eventsPerSecond > 0 ? Math.max(0, (total - processed) / eventsPerSecond) : null,
    };
    options.onProgress?.(progress);
    return progress;
  };
  return {
    add(applied: number) {
      processed += applied;
    },
    report,
    async reportNowAndThen() {
      const interval = options.progressIntervalMs ?? 1000;
      if (options.onProgress && Date.now() - reportedAt >= interval) await report();
    },
  };
}

/**
 * The progress total: events of the handled types up to what the relay has
 * published (what a rebuild replays), counted a range at a time: the first
 * report counts the log once, later ones only what was published since.
 */
function handledCounter(store: EventStore, projection: Pick<Projection, 'handles'>) {
  let counted = 0;
  let total = 0;
  return {
    async upTo(position: number): Promise<number> {
      if (position <= counted) return total;
      const rows = await store.pool.query<{ n: number }>(SQL.countHandled, [
        counted,
        position,
        [...projection.handles],
      ]);
      total += rows.rows[0]?.n ?? 0;
      counted = position;
      return total;
    },
  };
}
