import { setTimeout as sleep } from 'node:timers/promises';
import type { CounterProjection, RecordedEvent } from '@refract/core';
import { type EventStore, withTransaction } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import {
  applyToSlot,
  CheckpointMoved,
  lockProjection,
  type Slot,
  setLiveVersion,
  settleCounterFreeze,
} from '@refract/projector';
import { readPublishedPosition } from '@refract/relay';
import {
  counterCheckpoint,
  counterVersions,
  deleteCounters,
  freezeCounters,
  type RedisClient,
  unfreezeCounters,
} from '@refract/stream-bus';
import { compareCounterVersions } from './counter-cutover.js';
import { type CutoverReport, type ExpectChanges, NO_CHANGES_EXPECTED } from './cutover.js';
import { progressReporter } from './progress.js';
import { liveVersion, type RebuildOptions, type RebuildResult } from './rebuild.js';
import { SQL } from './sql.js';

/** Where counter projections keep their hashes: the workers' Redis and key prefix. */
export interface CounterStore {
  redis: RedisClient;
  keyPrefix: string;
}

export type CounterRebuildOptions = Omit<RebuildOptions, 'projection'> & {
  projection: CounterProjection;
  counters: CounterStore;
};

/**
 * Builds version v+1 of a counter projection beside the live v: the log is
 * replayed from Postgres (handled types, up to what the relay published)
 * into v+1's hashes through the worker's own apply path, whose
 * compare-and-set on each partition's checkpoint makes a resumed rebuild
 * apply no batch twice. Then v is brought to v+1's checkpoints and the swap
 * compares the two before making v+1 live (see `swapCounters`).
 */
export async function rebuildCounterProjection(
  options: CounterRebuildOptions,
): Promise<RebuildResult> {
  const { store, projection, counters } = options;
  const log = options.logger.child({ projection: projection.name, rebuild: true });
  const live = await liveVersion(store, projection.name);
  const version = options.targetVersion ?? live + 1;
  if (version === live) throw new Error(`version ${version} of ${projection.name} is already live`);
  // Like tables: v is kept until the next rebuild, which drops it.
  for (const old of await counterVersions(counters.redis, counters.keyPrefix, projection.name)) {
    if (old !== live && old !== version) {
      await deleteCounters(
        counters.redis,
        counters.keyPrefix,
        projection.name,
        old,
        store.partitions,
      );
    }
  }
  log.info({ live, version }, 'rebuild started');

  const partitions = options.partitions ?? [...Array(store.partitions).keys()];
  const batchSize = options.batchSize ?? 10_000;
  const slots = new Map<number, Slot<CounterProjection>>();
  for (const partition of partitions) {
    slots.set(partition, {
      projection,
      version,
      position: await counterCheckpoint(
        counters.redis,
        counters.keyPrefix,
        projection.name,
        version,
        partition,
      ),
      halted: false,
    });
  }
  const { add, report, reportNowAndThen } = progressReporter(store, projection, options);

  /**
   * Brings each partition's slot to its target, page by page, `concurrency`
   * partitions at a time: v+1's slots, or `at` (the live version's, when the
   * rebuild applies its tail before the comparison; not counted as progress).
   */
  const replay: Replay = async (targets, at = slots) => {
    let applied = 0;
    const queue = [...targets.keys()];
    const runOne = async () => {
      for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
        const slot = at.get(partition)!;
        const upTo = targets.get(partition)!;
        while (slot.position < upTo) {
          options.signal?.throwIfAborted();
          const events: RecordedEvent[] = await store.readAll({
            after: slot.position,
            upTo,
            partitions: [partition],
            types: [...projection.handles],
            limit: batchSize,
          });
          const through = events.length === batchSize ? events[events.length - 1]!.position : upTo;
          const outcome = await applyToSlot(
            store.pool,
            slot,
            partition,
            events,
            through,
            log,
            counters,
          );
          applied += outcome.applied;
          if (at === slots) add(outcome.applied);
          await reportNowAndThen();
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 2 }, runOne));
    return applied;
  };
  const everyPartitionTo = (upTo: number) => new Map(partitions.map((p) => [p, upTo]));

  // Rounds until one is small, so that the tail left for the swap is short.
  for (let round = 0; ; round++) {
    const applied = await replay(
      everyPartitionTo(await readPublishedPosition(store.pool, options.relayName)),
    );
    await report();
    if (applied < (options.swapWithinEvents ?? 2000) || round >= 20) break;
  }
  const upTo = await readPublishedPosition(store.pool, options.relayName);
  if (options.partitions)
    return { version, swappedAt: upTo, swapMs: 0, pauseMs: 0, report: null, held: false };
  await replay(everyPartitionTo(upTo));
  options.signal?.throwIfAborted();
  const compare = options.approved
    ? undefined
    : {
        expectChanges: options.expectChanges ?? NO_CHANGES_EXPECTED,
        maxKeys: options.reportKeys ?? 20,
      };
  if (compare)
    await liveCountersUpTo(store, projection, counters, live, slots, replay, options, log);
  const swapStarted = performance.now();
  const { pauseMs, tail, verdict } = await swapCounters(
    store,
    projection,
    counters,
    { live, version, slots, replay },
    compare,
  );
  const swapMs = performance.now() - swapStarted;
  await report();
  const figures = { swapMs: Math.round(swapMs), pauseMs: Math.round(pauseMs), tail };
  if (verdict?.verdict === 'unexpected') {
    log.warn(
      { version, ...figures, differing: verdict.tables[0]!.differing },
      'rebuild held for verification',
    );
    return { version, swappedAt: upTo, swapMs, pauseMs, report: verdict, held: true };
  }
  log.info({ version, swappedAt: upTo, ...figures, verdict: verdict?.verdict }, 'rebuild swapped');
  return { version, swappedAt: upTo, swapMs, pauseMs, report: verdict ?? null, held: false };
}

type Slots = ReadonlyMap<number, Slot<CounterProjection>>;
type Replay = (targets: ReadonlyMap<number, number>, at?: Slots) => Promise<number>;

/**
 * Brings the live v at least to v+1's position in every partition, so the
 * swap compares the two at the same checkpoints: the live workers move v,
 * and the rebuild waits for them (a partition counts as there when no
 * handled event lies between v's checkpoint and v+1's). When they do not
 * get there in `liveCatchUpMs` (none running, or paused), the rebuild
 * applies v's tail itself through the same compare-and-set apply; a worker
 * that moved v meanwhile makes it look again, so nothing is applied twice.
 */
async function liveCountersUpTo(
  store: EventStore,
  projection: CounterProjection,
  counters: CounterStore,
  live: number,
  next: Slots,
  replay: Replay,
  options: CounterRebuildOptions,
  log: Logger,
): Promise<void> {
  const partitions = [...next.keys()];
  const behind = async () => {
    const at: number[] = [];
    for (const p of partitions) {
      at.push(
        await counterCheckpoint(counters.redis, counters.keyPrefix, projection.name, live, p),
      );
    }
    const rows = await store.pool.query<{ partition: number }>(SQL.liveCountersBehind, [
      partitions,
      at,
      partitions.map((p) => next.get(p)!.position),
      [...projection.handles],
    ]);
    return rows.rows.map((r) => ({
      partition: r.partition,
      at: at[partitions.indexOf(r.partition)]!,
    }));
  };
  const deadline = Date.now() + (options.liveCatchUpMs ?? 10_000);
  for (let waiting = await behind(); waiting.length > 0; waiting = await behind()) {
    options.signal?.throwIfAborted();
    if (Date.now() < deadline) {
      await sleep(50);
      continue;
    }
    log.warn(
      { partitions: waiting.map((w) => w.partition) },
      'live version not caught up by its workers; applying its tail',
    );
    const slots = new Map(
      waiting.map((w) => [
        w.partition,
        { projection, version: live, position: w.at, halted: false },
      ]),
    );
    try {
      await replay(
        new Map(waiting.map((w) => [w.partition, next.get(w.partition)!.position])),
        slots,
      );
    } catch (error) {
      if (!(error instanceof CheckpointMoved)) throw error;
    }
  }
}

/**
 * The swap, in one transaction on the projection's registry row: freeze v on
 * every partition (the counter-apply script refuses any batch on a frozen
 * hash, so the checkpoints the freeze returns are final: the pause starts),
 * bring each partition of v+1 at least to v's frozen checkpoint, compare
 * the two (the verified cutover, unless approved), make v+1 live, NOTIFY,
 * commit. Undeclared differences end the swap before v+1 is made live, with
 * v unfrozen. A reader sees v up to counts that no longer grow,
 * then v+1 at or beyond them: never a step backwards, and no increment is
 * lost or doubled, because workers refused on v go on from v+1's
 * checkpoints. Workers refused by the freeze wait for the row
 * (settleCounterFreeze), then reload the live version. Should the swap fail,
 * v is unfrozen under the row; should its process die, the row's lock goes
 * with the session, and the first worker refused on v finds v still live and
 * lifts the freeze itself.
 */
async function swapCounters(
  store: EventStore,
  projection: CounterProjection,
  counters: CounterStore,
  { live, version, slots, replay }: { live: number; version: number; slots: Slots; replay: Replay },
  compare?: { expectChanges: ExpectChanges; maxKeys: number },
): Promise<{ pauseMs: number; tail: number; verdict?: CutoverReport }> {
  let paused: number | undefined;
  let verdict: CutoverReport | undefined;
  try {
    const tail = await withTransaction(store.pool, async (client) => {
      if ((await lockProjection(client, projection.name)) !== live) {
        throw new Error(`${projection.name}'s live version moved during the rebuild`);
      }
      paused = performance.now();
      const frozen = new Map<number, number>();
      for (const partition of slots.keys()) {
        frozen.set(
          partition,
          await freezeCounters(
            counters.redis,
            counters.keyPrefix,
            projection.name,
            live,
            partition,
          ),
        );
      }
      const behind = [...frozen].filter(([p, position]) => slots.get(p)!.position < position);
      const applied = await replay(new Map(behind));
      if (compare) {
        // Both stand at the same checkpoints: v is frozen, v+1 was brought
        // to v's frozen checkpoints, and v was at or past v+1 before.
        verdict = await compareCounterVersions({
          ...counters,
          projection,
          live,
          version,
          partitions: store.partitions,
          ...compare,
        });
        if (verdict.verdict === 'unexpected') {
          // Held: v goes on serving and advancing. Its freeze is lifted
          // under the row, before the commit lets the workers it refused
          // (waiting for the row) look again.
          for (const partition of slots.keys()) {
            await unfreezeCounters(
              counters.redis,
              counters.keyPrefix,
              projection.name,
              live,
              partition,
            );
          }
          return applied;
        }
      }
      await setLiveVersion(client, projection.name, version);
      return applied;
    });
    return { pauseMs: performance.now() - paused!, tail, ...(verdict && { verdict }) };
  } catch (error) {
    if (paused !== undefined) {
      for (const partition of slots.keys()) {
        const slot = { projection, version: live, position: 0, halted: false };
        await settleCounterFreeze(store.pool, slot, partition, counters).catch(() => {});
      }
    }
    throw error;
  }
}

/** Drops a counter version that is not live (a cancelled or failed rebuild). */
export async function dropCounterVersion(
  store: EventStore,
  projection: CounterProjection,
  version: number,
  counters: CounterStore,
): Promise<void> {
  if ((await liveVersion(store, projection.name)) === version) {
    throw new Error(`version ${version} of ${projection.name} is live; it cannot be dropped`);
  }
  await deleteCounters(
    counters.redis,
    counters.keyPrefix,
    projection.name,
    version,
    store.partitions,
  );
}
