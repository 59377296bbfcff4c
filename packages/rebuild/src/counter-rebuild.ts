import type { CounterProjection, RecordedEvent } from '@refract/core';
import { type EventStore, withTransaction } from '@refract/event-store';
import {
  applyToSlot,
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
} from '@refract/stream-bus';
import { progressReporter } from './progress.js';
import { liveVersion, type RebuildOptions, type RebuildResult } from './rebuild.js';

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
 * apply no batch twice. Then the swap (see `swapCounters`).
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

  /** Brings each partition's slot to its target, page by page, `concurrency` partitions at a time. */
  const replay = async (targets: ReadonlyMap<number, number>): Promise<number> => {
    let applied = 0;
    const queue = [...targets.keys()];
    const runOne = async () => {
      for (let partition = queue.shift(); partition !== undefined; partition = queue.shift()) {
        const slot = slots.get(partition)!;
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
          add(outcome.applied);
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
  const swapStarted = performance.now();
  const { pauseMs, tail } = await swapCounters(
    store,
    projection,
    counters,
    live,
    version,
    slots,
    replay,
  );
  const swapMs = performance.now() - swapStarted;
  await report();
  log.info(
    { version, swappedAt: upTo, swapMs: Math.round(swapMs), pauseMs: Math.round(pauseMs), tail },
    'rebuild swapped',
  );
  return { version, swappedAt: upTo, swapMs, pauseMs, report: null, held: false };
}

/**
 * The swap, in one transaction on the projection's registry row: freeze v on
 * every partition (the counter-apply script refuses any batch on a frozen
 * hash, so the checkpoints the freeze returns are final: the pause starts),
 * bring each partition of v+1 at least to v's frozen checkpoint, make v+1
 * live, NOTIFY, commit. A reader sees v up to counts that no longer grow,
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
  live: number,
  version: number,
  slots: ReadonlyMap<number, Slot<CounterProjection>>,
  replay: (targets: ReadonlyMap<number, number>) => Promise<number>,
): Promise<{ pauseMs: number; tail: number }> {
  let paused: number | undefined;
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
      await setLiveVersion(client, projection.name, version);
      return applied;
    });
    return { pauseMs: performance.now() - paused!, tail };
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
