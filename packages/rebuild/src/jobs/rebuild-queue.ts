import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnyProjection } from '@refract/core';
import { inSpan, type Logger, SpanKind, toCarrier } from '@refract/observability';
import { createRedisClient } from '@refract/stream-bus';
import { FlowProducer, Queue } from 'bullmq';
import { dropAnyVersion } from '../any-projection.js';
import { type ExpectChanges, NO_CHANGES_EXPECTED } from '../cutover.js';
import { liveVersion } from '../rebuild.js';
import {
  parseJobData,
  REBUILD_JOB,
  REBUILD_SHARE_JOB,
  type RebuildJobData,
} from './job-catalog.js';
import {
  bullConnection,
  bullPrefix,
  jobDefaults,
  REBUILD_QUEUE,
  type RebuildJobSettings,
} from './queue-settings.js';
import {
  JobNotFoundError,
  ProjectionNotFoundError,
  RebuildAlreadyRunningError,
  RebuildNotVerifyingError,
} from './rebuild-errors.js';
import { type RebuildJobView, viewOf } from './rebuild-job-view.js';
import { RebuildTable } from './rebuild-table.js';
import { sharePartitions } from './share-partitions.js';
import { openStore, type StoreSource } from './store-source.js';
import { WorkerRegistry } from './worker-registry.js';

export type RebuildQueueOptions = StoreSource &
  RebuildJobSettings & {
    redisUrl: string;
    /** Prefix of every Redis key, BullMQ's and counter projections' included. */
    keyPrefix: string;
    /** The projections that can be rebuilt, by name, counter projections included. */
    projections: readonly AnyProjection[];
    logger: Logger;
    /** Most child jobs one rebuild is split into (one per live rebuild worker, at most this). @defaultValue 8 */
    maxShares?: number;
    /** How long `cancel` waits for an active job to stop and clean up. @defaultValue 15000 */
    cancelWaitMs?: number;
  };

export interface RebuildQueue {
  /**
   * Starts a rebuild of the projection; `expectChanges` declares the
   * differences from the live version that may be swapped in without an
   * approval. Throws `rebuild_running` (with its jobId) or `projection_not_found`.
   */
  enqueue(
    projection: string,
    options?: { expectChanges?: ExpectChanges },
  ): Promise<{ jobId: string }>;
  /**
   * Approves a rebuild held in `verifying`: it is queued again, catches v+1
   * up and swaps without comparing. Throws `job_not_found`, or
   * `rebuild_not_verifying` when the job is in another state.
   */
  approve(jobId: string): Promise<RebuildJobView>;
  get(jobId: string): Promise<RebuildJobView | null>;
  /** The waiting or active rebuild of a projection, if any. */
  current(projection: string): Promise<RebuildJobView | null>;
  /**
   * The latest `limit` rebuilds of the queue's projections, newest first,
   * whatever their outcome: `refract.rebuilds` keeps them after BullMQ has
   * trimmed the jobs.
   */
  recent(limit: number): Promise<RebuildJobView[]>;
  /**
   * Cancels a rebuild: a waiting one is removed, an active one stops at its
   * next batch and drops the version it built; the live version is untouched.
   * Waits (up to `cancelWaitMs`) for that, then answers the job as it is.
   * A finished job is answered unchanged. Throws `job_not_found`.
   */
  cancel(jobId: string): Promise<RebuildJobView>;
  /** The BullMQ queue, for bull-board. */
  readonly queue: Queue;
  /** Idempotent. */
  close(): Promise<void>;
}

/** The admin side of rebuilds: enqueue, read, cancel. Jobs run in `startRebuildWorker` processes. */
export function createRebuildQueue(options: RebuildQueueOptions): RebuildQueue {
  const log = options.logger.child({ component: 'rebuild-queue' });
  // Opened lazily so that creating the queue stays synchronous for its callers.
  const opened = openStore(options, 'refract-rebuild-queue');
  opened.catch(() => {});
  let table: RebuildTable | undefined;
  const ready = async () => {
    const { store } = await opened;
    table ??= new RebuildTable(store.pool);
    return { store, table };
  };
  // BullMQ on our one client factory, so a redis+cluster:// URL works here too.
  const connection = bullConnection(options.redisUrl);
  const prefix = bullPrefix(options.keyPrefix);
  const defaults = jobDefaults(options);
  const queue = new Queue(REBUILD_QUEUE, { connection, prefix, defaultJobOptions: defaults });
  queue.on('error', (error) => log.warn({ err: error }, 'rebuild queue redis error'));
  const flows = new FlowProducer({ connection, prefix });
  flows.on('error', (error) => log.warn({ err: error }, 'rebuild flow redis error'));
  const redis = createRedisClient(options.redisUrl, {
    name: 'refract-rebuild-queue',
    failFast: false,
    overrides: { maxRetriesPerRequest: 2 },
  });
  const registry = new WorkerRegistry(redis, options.keyPrefix);
  const counters = { redis, keyPrefix: options.keyPrefix };
  const byName = new Map(options.projections.map((p) => [p.name, p]));
  let closing: Promise<void> | undefined;

  // The enqueue is a span whose context travels in the job data, so the
  // jobs' spans (a worker elsewhere, maybe after a crash) join its trace.
  const add = (data: RebuildJobData, partitions: number) =>
    inSpan(
      'rebuild enqueue',
      { kind: SpanKind.PRODUCER, attributes: { 'refract.projection': data.projection } },
      (span) => addJobs({ ...data, ...toCarrier(span.spanContext()) }, partitions),
    );
  const addJobs = async (data: RebuildJobData, partitions: number) => {
    const workers = await registry.count();
    const shares = sharePartitions(partitions, Math.min(workers, options.maxShares ?? 8));
    if (shares.length < 2) {
      await queue.add(REBUILD_JOB, parseJobData(REBUILD_JOB, data), { jobId: data.rebuildId });
      return 1;
    }
    // The parent waits for its children, then catches up and swaps. A
    // FlowProducer applies no queue defaults, so every node gets them here.
    await flows.add({
      name: REBUILD_JOB,
      queueName: REBUILD_QUEUE,
      data: parseJobData(REBUILD_JOB, data),
      opts: { ...defaults, jobId: data.rebuildId },
      children: shares.map((partitions, share) => ({
        name: REBUILD_SHARE_JOB,
        queueName: REBUILD_QUEUE,
        data: parseJobData(REBUILD_SHARE_JOB, { ...data, share, partitions }),
        opts: { ...defaults, jobId: `${data.rebuildId}-share-${share}`, failParentOnFailure: true },
      })),
    });
    return shares.length;
  };

  return {
    queue,
    async enqueue(name, { expectChanges = NO_CHANGES_EXPECTED } = {}) {
      const projection = byName.get(name);
      if (!projection) throw new ProjectionNotFoundError(name);
      const { store, table } = await ready();
      const live = await liveVersion(store, name).catch(() => undefined);
      if (live === undefined) throw new ProjectionNotFoundError(name);
      const rebuildId = randomUUID();
      // The unique index decides between racing requests; the loop covers a
      // running rebuild that ends between our insert and our look-up.
      for (let attempt = 0; ; attempt++) {
        const row = await table.insert(rebuildId, name, live + 1, expectChanges);
        if (row) break;
        const running = await table.running(name);
        if (running) throw new RebuildAlreadyRunningError(name, running.job_id);
        if (attempt >= 3) throw new Error(`could not record a rebuild of ${name}`);
      }
      try {
        // Leftovers at this version (a failed or cancelled rebuild, maybe of
        // older code) must not be resumed by this one.
        await dropAnyVersion(store, projection, live + 1, counters);
        const shares = await add(
          { rebuildId, projection: name, targetVersion: live + 1 },
          store.partitions,
        );
        log.info(
          { projection: name, job: rebuildId, version: live + 1, shares },
          'rebuild enqueued',
        );
      } catch (error) {
        await table.finish(rebuildId, 'failed', { error: String(error) }).catch(() => {});
        throw error;
      }
      return { jobId: rebuildId };
    },

    async get(jobId) {
      const { table } = await ready();
      const row = await table.get(jobId);
      return row ? viewOf(row) : null;
    },

    async current(name) {
      const { table } = await ready();
      const row = await table.running(name);
      return row ? viewOf(row) : null;
    },

    async recent(limit) {
      const { table } = await ready();
      return (await table.recent([...byName.keys()], limit)).map((row) => viewOf(row));
    },

    async approve(jobId) {
      const { table } = await ready();
      const row = await table.approve(jobId);
      if (!row) {
        const now = await table.get(jobId);
        if (!now) throw new JobNotFoundError(jobId);
        throw new RebuildNotVerifyingError(jobId, now.state);
      }
      // Its own BullMQ id: the held run's job is completed and keeps the rebuild's id.
      await queue.add(
        REBUILD_JOB,
        parseJobData(REBUILD_JOB, {
          rebuildId: jobId,
          projection: row.projection,
          targetVersion: row.target_version,
        }),
        { jobId: approvedJobId(jobId) },
      );
      log.info({ projection: row.projection, job: jobId }, 'rebuild approved');
      return viewOf(row);
    },

    async cancel(jobId) {
      const { store, table } = await ready();
      const flagged = await table.requestCancel(jobId);
      if (!flagged) {
        const row = await table.get(jobId);
        if (!row) throw new JobNotFoundError(jobId);
        return viewOf(row);
      }
      const projection = byName.get(flagged.projection);
      const clean = async () => {
        if (projection) await dropAnyVersion(store, projection, flagged.target_version, counters);
        const row = await table.finish(jobId, 'cancelled');
        log.info({ projection: flagged.projection, job: jobId }, 'rebuild cancelled');
        return viewOf(row ?? (await table.get(jobId))!);
      };
      // Held: no process works on it, so the version it built is dropped here.
      if (flagged.state === 'verifying') return clean();
      // After an approval the BullMQ job to stop is the approval's.
      const bullId = flagged.approved ? approvedJobId(jobId) : jobId;
      // Not started anywhere: remove it (0 means some part of it is locked by a worker).
      if (
        flagged.state === 'waiting' &&
        (await queue.remove(bullId, { removeChildren: true })) === 1
      ) {
        return clean();
      }
      const deadline = Date.now() + (options.cancelWaitMs ?? 15_000);
      for (;;) {
        const row = (await table.get(jobId))!;
        if (row.state !== 'waiting' && row.state !== 'active') return viewOf(row);
        if (Date.now() >= deadline) {
          // A job BullMQ no longer has (trimmed, Redis lost) has nobody to stop it.
          if (!(await queue.getJob(bullId))) return clean();
          return viewOf(row);
        }
        await sleep(100);
      }
    },

    close() {
      closing ??= (async () => {
        await flows.close().catch(() => {});
        await queue.close().catch(() => {});
        redis.disconnect();
        connection.disconnect();
        const { store, owned } = await opened.catch(() => ({ store: undefined, owned: false }));
        if (owned) await store?.close();
      })();
      return closing;
    },
  };
}

/** The BullMQ id of an approved rebuild's second run: the first run's job keeps the rebuild's id. */
function approvedJobId(rebuildId: string): string {
  return `${rebuildId}-approved`;
}
