import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Projection,
  ReactorNotRebuildableError,
  type RecordedEvent,
  versionedTable,
} from '@refract/core';
import { type EventStore, withTransaction } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import {
  applyToSlot,
  dropVersionCheckpoints,
  isReactorProjection,
  listCheckpointVersions,
  lockProjection,
  lockVersionCheckpoints,
  pointViews,
  readRegisteredProjection,
  registerProjection,
  type Slot,
  setLiveVersion,
} from '@refract/projector';
import { readPublishedPosition } from '@refract/relay';
import { catchUpTogether, loadSlots } from './catch-up.js';
import {
  type CutoverReport,
  compareVersions,
  type ExpectChanges,
  NO_CHANGES_EXPECTED,
} from './cutover.js';
import { progressReporter } from './progress.js';
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
  /** Events per replay transaction (a page of one partition, or of all of them when catching up). @defaultValue 10000 */
  batchSize?: number;
  /**
   * Partitions replayed at once, each reading its next page while one is
   * applied. Their batches lock rows of shared read-model keys (customers)
   * until they commit, so more runners mostly wait on each other. @defaultValue 2
   */
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
  /** Differences between v and v+1 that do not hold the swap. @defaultValue none */
  expectChanges?: ExpectChanges;
  /** Swap without comparing: an operator approved the held report. @defaultValue false */
  approved?: boolean;
  /** Differing keys listed per table in the cutover report. @defaultValue 20 */
  reportKeys?: number;
  /**
   * How long to wait for the live workers to bring v to v+1's position
   * before the swap; after it the rebuild applies v's tail itself (no live
   * worker is running it). @defaultValue 10000
   */
  liveCatchUpMs?: number;
}

export interface RebuildResult {
  version: number;
  /** Every event up to this position is in the new version at the swap. */
  swappedAt: number;
  /** The whole swap, including waiting for the live workers' batches in flight. */
  swapMs: number;
  /** How long live workers could not commit a batch of the projection (the short pause). */
  pauseMs: number;
  /**
   * The comparison of v+1 with v at the swap's checkpoints; null when not
   * compared (approved, a share, a counter projection).
   */
  report: CutoverReport | null;
  /** Undeclared differences: nothing was swapped, v is still live and v+1 kept. */
  held: boolean;
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
  // Its handlers call the outside world: a rebuild would repeat their effects.
  if (isReactorProjection(projection)) throw new ReactorNotRebuildableError(projection.name);
  const log = options.logger.child({ projection: projection.name, rebuild: true });
  const live = await liveVersion(store, projection.name);
  const version = options.targetVersion ?? live + 1;
  if (version === live) throw new Error(`version ${version} of ${projection.name} is already live`);
  await dropRetiredVersions(store, projection, live, version);
  await registerProjection(store.pool, projection, store.partitions, version);
  log.info({ live, version }, 'rebuild started');

  const partitions = options.partitions ?? [...Array(store.partitions).keys()];
  const batchSize = options.batchSize ?? 10_000;
  const slots = await loadSlots(store, projection, version, partitions);
  const { add, report, reportNowAndThen } = progressReporter(store, projection, options);

  /**
   * The bulk of the log, partition by partition, `concurrency` at a time:
   * a partition's pages hold whole orders (streams), so a page folds into
   * fewer rows than a page of the interleaved log. Each runner reads its
   * next page while the current one is applied.
   */
  const replayEach = async (targets: ReadonlyMap<number, number>): Promise<number> => {
    let applied = 0;
    const queue = [...targets.keys()];
    const readPage = async (partition: number, after: number): Promise<Page> => {
      const upTo = targets.get(partition)!;
      const events = await store.readAll({
        after,
        upTo,
        partitions: [partition],
        types: [...projection.handles],
        limit: batchSize,
      });
      const through = events.length === batchSize ? events[events.length - 1]!.position : upTo;
      return { partition, events, through, last: through >= upTo };
    };
    /** The page after `page`: its partition's next one, else the first of the next partition due. */
    const following = async (page?: Page): Promise<Page | undefined> => {
      if (page && !page.last) return readPage(page.partition, page.through);
      for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
        const slot = slots.get(partition)!;
        if (slot.halted) throw new Error(`partition ${partition} halted on a poison event`);
        if (slot.position < targets.get(partition)!) return readPage(partition, slot.position);
      }
      return undefined;
    };
    const runOne = async () => {
      let next = following();
      try {
        for (let page = await next; page; page = await next) {
          options.signal?.throwIfAborted();
          next = following(page);
          const slot = slots.get(page.partition)!;
          const outcome = await applyToSlot(
            store.pool,
            slot,
            page.partition,
            page.events,
            page.through,
            log,
          );
          applied += outcome.applied;
          add(outcome.applied);
          if (slot.halted) throw new Error(`partition ${page.partition} halted on a poison event`);
          await reportNowAndThen();
        }
      } finally {
        // A read ahead that is no longer wanted must not surface as unhandled.
        next.catch(() => {});
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 2 }, runOne));
    return applied;
  };
  /** A catch-up of every partition at once: one read and one commit per page (see catchUpTogether). */
  const catchUp = async (targets: ReadonlyMap<number, number>, at = slots): Promise<number> => {
    const applied = await catchUpTogether({
      store,
      projection,
      version,
      slots: at,
      targets,
      batchSize,
      log,
      signal: options.signal,
    });
    add(applied);
    return applied;
  };
  const everyPartitionTo = (upTo: number) => new Map(partitions.map((p) => [p, upTo]));

  // The first round replays the log per partition; later rounds only the
  // appends meanwhile, all partitions together, until a round is small, so
  // the tail left for the swap is short.
  for (let round = 0; ; round++) {
    const targets = everyPartitionTo(await readPublishedPosition(store.pool, options.relayName));
    const applied = round === 0 ? await replayEach(targets) : await catchUp(targets);
    await report();
    if (applied < (options.swapWithinEvents ?? 2000) || round >= 20) break;
  }
  if (options.partitions) {
    return {
      version,
      swappedAt: await readPublishedPosition(store.pool, options.relayName),
      swapMs: 0,
      pauseMs: 0,
      report: null,
      held: false,
    };
  }
  const upTo = await readPublishedPosition(store.pool, options.relayName);
  await catchUp(everyPartitionTo(upTo));
  await report();
  options.signal?.throwIfAborted();
  const compare = options.approved
    ? undefined
    : {
        expectChanges: options.expectChanges ?? NO_CHANGES_EXPECTED,
        maxKeys: options.reportKeys ?? 20,
      };
  if (compare) await liveUpTo(store, projection, live, slots, options, log);
  const swapStarted = performance.now();
  const { pauseMs, tail, verdict } = await swap(store, projection, live, version, catchUp, compare);
  const swapMs = performance.now() - swapStarted;
  await report();
  const figures = { swapMs: Math.round(swapMs), pauseMs: Math.round(pauseMs), tail };
  if (verdict?.verdict === 'unexpected') {
    log.warn(
      { version, ...figures, differing: differingKeys(verdict) },
      'rebuild held for verification',
    );
    return { version, swappedAt: upTo, swapMs, pauseMs, report: verdict, held: true };
  }
  log.info({ version, swappedAt: upTo, ...figures, verdict: verdict?.verdict }, 'rebuild swapped');
  return { version, swappedAt: upTo, swapMs, pauseMs, report: verdict ?? null, held: false };
}

function differingKeys(report: CutoverReport): number {
  return report.tables.reduce((n, t) => n + t.differing, 0);
}

/**
 * Brings the live v at least to v+1's position in every partition, so the
 * swap compares the two at the same checkpoints. The live workers move v:
 * the rebuild waits for them, and a partition counts as there when no
 * handled event lies between v's checkpoint and v+1's. When they do not get
 * there in `liveCatchUpMs` (none running), the rebuild applies v's tail
 * itself through the same CAS-guarded catch-up, so nothing is applied twice.
 */
async function liveUpTo(
  store: EventStore,
  projection: Projection,
  live: number,
  next: ReadonlyMap<number, Slot>,
  options: RebuildOptions,
  log: Logger,
): Promise<void> {
  const partitions = [...next.keys()];
  const targets = partitions.map((p) => next.get(p)!.position);
  const behind = async () =>
    (
      await store.pool.query<{ partition: number }>(SQL.liveBehind, [
        projection.name,
        live,
        partitions,
        targets,
        [...projection.handles],
      ])
    ).rows.map((r) => r.partition);
  const deadline = Date.now() + (options.liveCatchUpMs ?? 10_000);
  for (let waiting = await behind(); waiting.length > 0; waiting = await behind()) {
    options.signal?.throwIfAborted();
    if (Date.now() >= deadline) {
      log.warn(
        { partitions: waiting },
        'live version not caught up by its workers; applying its tail',
      );
      const slots = await loadSlots(store, projection, live, waiting);
      await catchUpTogether({
        store,
        projection,
        version: live,
        slots,
        targets: new Map(waiting.map((p) => [p, next.get(p)!.position])),
        batchSize: options.batchSize ?? 10_000,
        log,
        signal: options.signal,
      });
      return;
    }
    await sleep(50);
  }
}

interface Page {
  partition: number;
  events: RecordedEvent[];
  /** The checkpoint after this page. */
  through: number;
  /** The partition's target is reached with this page. */
  last: boolean;
}

/** Drops a version that was never made live (a cancelled rebuild). */
export async function dropVersion(
  store: EventStore,
  projection: Projection,
  version: number,
): Promise<void> {
  await withTransaction(store.pool, async (client) => {
    if ((await lockProjection(client, projection.name)) === version) {
      throw new Error(`version ${version} of ${projection.name} is live; it cannot be dropped`);
    }
    for (const table of projection.tables) {
      await client.query(`DROP TABLE IF EXISTS ${versionedTable(table, version)}`);
    }
    await dropVersionCheckpoints(client, projection.name, version);
  });
}

/**
 * The swap, in one transaction: lock v's checkpoint of every partition (live
 * workers' next batch on v waits: the pause starts), bring each partition of
 * v+1 at least to v's position (the tail the workers applied since the last
 * catch-up round; v+1 is written by nobody else before the swap), point the
 * views at v+1, make it live, tell the workers (NOTIFY) and commit. A reader
 * sees v up to positions that can no longer grow, then v+1 at or beyond them:
 * never a step backwards. The tail is one catch-up transaction over every
 * partition behind, on another connection; should the swap fail, v+1 is
 * merely further ahead and still not live.
 */
async function swap(
  store: EventStore,
  projection: Projection,
  live: number,
  version: number,
  catchUp: (targets: ReadonlyMap<number, number>, slots: Map<number, Slot>) => Promise<number>,
  compare?: { expectChanges: ExpectChanges; maxKeys: number },
): Promise<{ pauseMs: number; tail: number; verdict?: CutoverReport }> {
  let paused = 0;
  let verdict: CutoverReport | undefined;
  const tail = await withTransaction(store.pool, async (client) => {
    await lockProjection(client, projection.name);
    const locked = await lockVersionCheckpoints(client, projection.name, live);
    paused = performance.now();
    // Only the partitions v+1 is behind in, all in one transaction: the
    // pause is one read and one commit, not one of each per partition.
    const at = await loadSlots(
      store,
      projection,
      version,
      locked.map((r) => r.partition),
    );
    const behind = locked.filter((r) => at.get(r.partition)!.position < r.position);
    const applied = await catchUp(new Map(behind.map((r) => [r.partition, r.position])), at);
    if (compare) {
      // Both versions now stand at the same checkpoints (v cannot move: its
      // rows are locked; v+1 was brought to them, and v was at or past v+1
      // before the lock). Undeclared differences end the swap here, having
      // written nothing: committing only releases the locks.
      verdict = await compareVersions(client, {
        projection,
        live,
        version,
        partitions: store.partitions,
        ...compare,
      });
      if (verdict.verdict === 'unexpected') return applied;
    }
    await pointViews(client, projection, version);
    await setLiveVersion(client, projection.name, version);
    return applied;
  });
  return { pauseMs: performance.now() - paused, tail, ...(verdict && { verdict }) };
}

/** Versions older than the live one are retired by a new rebuild (the live one is kept). */
async function dropRetiredVersions(
  store: EventStore,
  projection: Projection,
  live: number,
  target: number,
): Promise<void> {
  for (const version of await listCheckpointVersions(store.pool, projection.name)) {
    if (version !== live && version !== target) await dropVersion(store, projection, version);
  }
}

export async function liveVersion(store: EventStore, name: string): Promise<number> {
  const live = (await readRegisteredProjection(store.pool, name))?.liveVersion;
  if (live === undefined) throw new Error(`projection ${name} is not registered`);
  return live;
}
