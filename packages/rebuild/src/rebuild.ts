import { type Projection, versionedTable } from '@refract/core';
import { type EventStore, isConnectionError, withTransaction } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import {
  applyToSlot,
  PROJECTIONS_CHANNEL,
  registerProjection,
  type Slot,
} from '@refract/projector';
import { SQL } from './sql.js';

export interface RebuildProgress {
  /** Events of the handled types applied to the new version so far. */
  processed: number;
  /** Events of the handled types up to the current head (grows while appends continue). */
  total: number;
  eventsPerSecond: number;
  etaSeconds: number | null;
}

export interface RebuildOptions {
  store: EventStore;
  projection: Projection;
  /** The version to build. @defaultValue live version + 1 */
  targetVersion?: number;
  /** Events per replay transaction. @defaultValue 5000 */
  batchSize?: number;
  /** Partitions replayed at once. @defaultValue 4 */
  concurrency?: number;
  /** Swap once a catch-up round had fewer events than this to apply. @defaultValue 2000 */
  swapWithinEvents?: number;
  /** Replay only these partitions (a share of the work); the swap is left to the caller. */
  partitions?: number[];
  logger: Logger;
  onProgress?: (progress: RebuildProgress) => void;
  /** Aborting stops the replay at the next batch; nothing of the live version changes. */
  signal?: AbortSignal;
  relayName?: string;
  /** Least time between two progress reports during a replay. @defaultValue 1000 */
  progressIntervalMs?: number;
}

export interface RebuildResult {
  version: number;
  /** Every event up to this position is in the new version at the swap. */
  swappedAt: number;
  /** The whole swap, including waiting for the live workers' batches in flight. */
  swapMs: number;
  /** How long live workers could not commit a batch of the projection (the short pause). */
  pauseMs: number;
}

/**
 * Builds version v+1 of a projection's tables beside the live v by replaying
 * the log from Postgres, never from Redis, then makes v+1 live.
 *
 * The replay reuses the worker's batch transaction: v+1 has its own
 * per-partition checkpoints, advanced by compare-and-set, so a rebuild that
 * dies resumes from them and no batch is applied twice, even while live
 * workers start writing v+1 after the swap. It only reads up to what the
 * relay has published, which is commit-safe.
 *
 * The swap pauses live workers of the projection only while it applies the
 * short tail they were ahead by (see `swap`), so reads never step back from
 * v to an older v+1. The workers hear of the swap at once (NOTIFY) and go on
 * from v+1's checkpoints. v is kept (for comparison or roll-back) until the
 * next rebuild drops it.
 */
export async function rebuildProjection(options: RebuildOptions): Promise<RebuildResult> {
  const { store, projection } = options;
  const log = options.logger.child({ projection: projection.name, rebuild: true });
  const live = await liveVersion(store, projection.name);
  const version = options.targetVersion ?? live + 1;
  if (version === live) throw new Error(`version ${version} of ${projection.name} is already live`);
  await dropRetiredVersions(store, projection, live, version);
  await registerProjection(store.pool, projection, store.partitions, version);
  log.info({ live, version }, 'rebuild started');

  const partitions = options.partitions ?? [...Array(store.partitions).keys()];
  const batchSize = options.batchSize ?? 5000;
  const progressIntervalMs = options.progressIntervalMs ?? 1000;
  const started = Date.now();
  let processed = 0;
  let reportedAt = 0;
  const report = async () => {
    reportedAt = Date.now();
    const total = await countHandled(store, projection);
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

  /** Brings each partition of v+1 to its target position, `concurrency` partitions at a time. */
  const replay = async (targets: ReadonlyMap<number, number>): Promise<number> => {
    let applied = 0;
    const queue = [...targets.keys()];
    const runOne = async () => {
      for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
        const upTo = targets.get(partition)!;
        const slot = await slotOf(store, projection, version, partition);
        while (slot.position < upTo) {
          options.signal?.throwIfAborted();
          const events = await store.readAll({
            after: slot.position,
            upTo,
            partitions: [partition],
            types: [...projection.handles],
            limit: batchSize,
          });
          const through = events.length === batchSize ? events[events.length - 1]!.position : upTo;
          const outcome = await applyToSlot(store.pool, slot, partition, events, through, log);
          applied += outcome.applied;
          processed += outcome.applied;
          if (slot.halted) throw new Error(`partition ${partition} halted on a poison event`);
          // Periodic, not per batch: a report counts the handled events of the whole log.
          if (options.onProgress && Date.now() - reportedAt >= progressIntervalMs) await report();
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, runOne));
    return applied;
  };
  const replayTo = async (upTo: number): Promise<number> => {
    const applied = await replay(new Map(partitions.map((p) => [p, upTo])));
    await report();
    return applied;
  };

  // Catch up in rounds until a round is small, so the tail left for the swap is short.
  for (let round = 0; ; round++) {
    const applied = await replayTo(await publishedPosition(store, options.relayName));
    if (applied < (options.swapWithinEvents ?? 2000) || round >= 20) break;
  }
  if (options.partitions) {
    return {
      version,
      swappedAt: await publishedPosition(store, options.relayName),
      swapMs: 0,
      pauseMs: 0,
    };
  }
  const upTo = await publishedPosition(store, options.relayName);
  await replayTo(upTo);
  options.signal?.throwIfAborted();
  const swapStarted = performance.now();
  const { pauseMs, tail } = await swap(store, projection, live, version, replay);
  const swapMs = performance.now() - swapStarted;
  await report();
  log.info(
    { version, swappedAt: upTo, swapMs: Math.round(swapMs), pauseMs: Math.round(pauseMs), tail },
    'rebuild swapped',
  );
  return { version, swappedAt: upTo, swapMs, pauseMs };
}

/** Drops a version that was never made live (a cancelled rebuild). */
export async function dropVersion(
  store: EventStore,
  projection: Projection,
  version: number,
): Promise<void> {
  await withTransaction(store.pool, async (client) => {
    const live = await client.query<{ live_version: number }>(
      'SELECT live_version FROM refract.projections WHERE name = $1 FOR UPDATE',
      [projection.name],
    );
    if (live.rows[0]?.live_version === version) {
      throw new Error(`version ${version} of ${projection.name} is live; it cannot be dropped`);
    }
    for (const table of projection.tables) {
      await client.query(`DROP TABLE IF EXISTS ${versionedTable(table, version)}`);
    }
    await client.query(
      'DELETE FROM refract.projection_checkpoints WHERE projection = $1 AND version = $2',
      [projection.name, version],
    );
  });
}

/**
 * The swap, in one transaction: lock v's checkpoint of every partition (live
 * workers' next batch on v waits: the pause starts), bring each partition of
 * v+1 at least to v's position (the tail the workers applied since the last
 * catch-up round; v+1 is written by nobody else before the swap), point the
 * views at v+1, make it live, tell the workers (NOTIFY) and commit. A reader
 * sees v up to positions that can no longer grow, then v+1 at or beyond them:
 * never a step backwards. The tail is applied through the usual batch
 * transactions on other connections; should the swap fail, v+1 is merely
 * further ahead and still not live.
 */
async function swap(
  store: EventStore,
  projection: Projection,
  live: number,
  version: number,
  replay: (targets: ReadonlyMap<number, number>) => Promise<number>,
): Promise<{ pauseMs: number; tail: number }> {
  const client = await store.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM refract.projections WHERE name = $1 FOR UPDATE', [
      projection.name,
    ]);
    const locked = await client.query<{ partition: number; position: number }>(
      SQL.lockLiveCheckpoints,
      [projection.name, live],
    );
    const paused = performance.now();
    const tail = await replay(new Map(locked.rows.map((r) => [r.partition, r.position])));
    for (const table of projection.tables) {
      await client.query(
        `CREATE OR REPLACE VIEW projections.${table} AS SELECT * FROM ${versionedTable(table, version)}`,
      );
    }
    await client.query(
      'UPDATE refract.projections SET live_version = $2, updated_at = now() WHERE name = $1',
      [projection.name, version],
    );
    await client.query('SELECT pg_notify($1, $2)', [PROJECTIONS_CHANNEL, projection.name]);
    await client.query('COMMIT');
    return { pauseMs: performance.now() - paused, tail };
  } catch (error) {
    if (isConnectionError(error)) broken = error as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Versions older than the live one are retired by a new rebuild (the live one is kept). */
async function dropRetiredVersions(
  store: EventStore,
  projection: Projection,
  live: number,
  target: number,
): Promise<void> {
  const rows = await store.pool.query<{ version: number }>(
    'SELECT DISTINCT version FROM refract.projection_checkpoints WHERE projection = $1',
    [projection.name],
  );
  for (const { version } of rows.rows) {
    if (version !== live && version !== target) await dropVersion(store, projection, version);
  }
}

export async function liveVersion(store: EventStore, name: string): Promise<number> {
  const rows = await store.pool.query<{ live_version: number }>(
    'SELECT live_version FROM refract.projections WHERE name = $1',
    [name],
  );
  const live = rows.rows[0]?.live_version;
  if (live === undefined) throw new Error(`projection ${name} is not registered`);
  return live;
}

async function slotOf(
  store: EventStore,
  projection: Projection,
  version: number,
  partition: number,
): Promise<Slot> {
  const rows = await store.pool.query<{ position: number; halted_at: number | null }>(
    'SELECT position, halted_at FROM refract.projection_checkpoints WHERE projection = $1 AND version = $2 AND partition = $3',
    [projection.name, version, partition],
  );
  const row = rows.rows[0];
  if (!row)
    throw new Error(`no checkpoint for ${projection.name} v${version} partition ${partition}`);
  return { projection, version, position: row.position, halted: row.halted_at !== null };
}

async function publishedPosition(store: EventStore, relayName = 'main'): Promise<number> {
  const rows = await store.pool.query<{ position: number }>(
    'SELECT position FROM refract.relay_checkpoints WHERE name = $1',
    [relayName],
  );
  return rows.rows[0]?.position ?? 0;
}

async function countHandled(store: EventStore, projection: Projection): Promise<number> {
  const rows = await store.pool.query<{ n: number }>(
    'SELECT count(*)::bigint AS n FROM refract.events WHERE type = ANY($1)',
    [[...projection.handles]],
  );
  return rows.rows[0]?.n ?? 0;
}
