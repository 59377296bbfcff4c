import type { AnyProjection } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import { contextFromCarrier, inSpan, type Logger, SpanKind } from '@refract/observability';
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import { dropAnyVersion, rebuildAnyProjection } from '../any-projection.js';
import type { CounterStore } from '../counter-rebuild.js';
import type { RebuildProgress } from '../rebuild.js';
import {
  InvalidJobDataError,
  isJobName,
  parseJobData,
  REBUILD_SHARE_JOB,
  type RebuildJobData,
  type RebuildShareJobData,
} from './job-catalog.js';
import type { RebuildTable } from './rebuild-table.js';

/** Engine knobs a rebuild worker passes through. */
export interface ReplaySettings {
  /** Events per replay transaction (a page of one partition, or of all of them when catching up). @defaultValue 10000 */
  batchSize?: number;
  /** Partitions one job replays at once (see RebuildOptions.concurrency). @defaultValue 2 */
  replayConcurrency?: number;
  /** Swap once a catch-up round had fewer events than this. @defaultValue 2000 */
  swapWithinEvents?: number;
  /** Least time between progress reports (table and job progress). @defaultValue 1000 */
  progressIntervalMs?: number;
  /** How long the swap waits for live workers to bring v to v+1's position (RebuildOptions.liveCatchUpMs). @defaultValue 10000 */
  liveCatchUpMs?: number;
  /** How often a running job polls its cancel flag. @defaultValue 250 */
  cancelPollMs?: number;
  /** Least time between two progress log lines. @defaultValue 10000 */
  logProgressEveryMs?: number;
  relayName?: string;
}

export interface ProcessorContext {
  workerId: string;
  store: EventStore;
  table: RebuildTable;
  projections: ReadonlyMap<string, AnyProjection>;
  /** The workers' Redis and key prefix, where counter projections' versions are built. */
  counters: CounterStore;
  logger: Logger;
  settings: ReplaySettings;
  /** Aborted when the worker shuts down: jobs go back to the queue, to be resumed. */
  shutdown: AbortSignal;
}

/** The processor's answer, kept by BullMQ as the job's return value. */
export type RebuildJobResult =
  | { outcome: 'completed'; version: number; swapPauseMs: number; worker: string }
  | { outcome: 'verifying'; version: number; differing: number; worker: string }
  | { outcome: 'replayed'; share: number; partitions: number[]; applied: number; worker: string }
  | { outcome: 'cancelled' | 'skipped'; worker: string };

class RebuildCancelled extends Error {
  constructor() {
    super('rebuild cancelled');
  }
}

/**
 * Runs a rebuild job or one share of it. The payload is validated again (it
 * spent time in Redis), the `refract.rebuilds` row says whether there is
 * still anything to do, the cancel flag is polled while the engine replays,
 * and the engine resumes from the target version's checkpoints, so a job
 * handed over after a crash (BullMQ's stalled-job recovery) or retried never
 * applies an event twice.
 */
export function createRebuildProcessor(ctx: ProcessorContext) {
  return async (job: Job, token?: string): Promise<RebuildJobResult> => {
    if (!isJobName(job.name)) throw new UnrecoverableError(`unknown job ${job.name}`);
    let data: RebuildJobData | RebuildShareJobData;
    try {
      data = parseJobData(job.name, job.data);
    } catch (error) {
      if (error instanceof InvalidJobDataError) throw new UnrecoverableError(error.message);
      throw error;
    }
    const attributes = { 'refract.projection': data.projection, 'refract.job': job.id ?? '' };
    return inSpan(
      job.name,
      { parent: contextFromCarrier(data), kind: SpanKind.CONSUMER, attributes },
      () => run(job, token, data),
    );
  };

  async function run(
    job: Job,
    token: string | undefined,
    data: RebuildJobData | RebuildShareJobData,
  ): Promise<RebuildJobResult> {
    const share = job.name === REBUILD_SHARE_JOB ? (data as RebuildShareJobData) : undefined;
    const projection = ctx.projections.get(data.projection);
    if (!projection)
      throw new UnrecoverableError(`projection ${data.projection} is not known here`);
    const jobLog = ctx.logger.child({
      job: data.rebuildId,
      ...(share && { share: share.share }),
    });
    // The rebuild binds the projection to the log it is given: it gets jobLog,
    // so its lines carry `projection` once.
    const log = jobLog.child({ projection: data.projection });
    const worker = ctx.workerId;

    const row = await ctx.table.start(data.rebuildId);
    if (!row) {
      log.info('rebuild already finished; nothing to do');
      return { outcome: 'skipped', worker };
    }
    const cancelled = async (): Promise<RebuildJobResult> => {
      if (!share) {
        await dropAnyVersion(ctx.store, projection, data.targetVersion, ctx.counters);
        await ctx.table.finish(data.rebuildId, 'cancelled');
        log.info({ version: data.targetVersion }, 'rebuild cancelled; its version dropped');
      }
      return { outcome: 'cancelled', worker };
    };
    if (row.cancel_requested) return cancelled();

    const abort = new AbortController();
    const onShutdown = () => abort.abort(ctx.shutdown.reason);
    ctx.shutdown.addEventListener('abort', onShutdown, { once: true });
    if (ctx.shutdown.aborted) onShutdown();
    const poll = setInterval(() => {
      ctx.table
        .cancelRequested(data.rebuildId)
        .then((yes) => yes && abort.abort(new RebuildCancelled()))
        .catch(() => {});
    }, ctx.settings.cancelPollMs ?? 250);

    // Reports are deltas, so shares and resumed attempts add up in the row.
    let reported = 0;
    let loggedAt = Date.now();
    let reports = Promise.resolve();
    const onProgress = (progress: RebuildProgress) => {
      const delta = progress.processed - reported;
      reported = progress.processed;
      reports = reports
        .then(async () => {
          if (await ctx.table.addProgress(data.rebuildId, delta, progress.total)) {
            abort.abort(new RebuildCancelled());
          }
          await job.updateProgress({ processed: progress.processed, total: progress.total });
        })
        .catch((error) => log.warn({ err: error }, 'progress report failed'));
      if (Date.now() - loggedAt >= (ctx.settings.logProgressEveryMs ?? 10_000)) {
        loggedAt = Date.now();
        log.info(progress, 'rebuild progress');
      }
    };

    log.info({ version: data.targetVersion, partitions: share?.partitions }, 'rebuild job started');
    try {
      const result = await rebuildAnyProjection({
        store: ctx.store,
        projection,
        counters: ctx.counters,
        targetVersion: data.targetVersion,
        ...(share && { partitions: share.partitions }),
        batchSize: ctx.settings.batchSize,
        concurrency: ctx.settings.replayConcurrency,
        swapWithinEvents: ctx.settings.swapWithinEvents,
        progressIntervalMs: ctx.settings.progressIntervalMs,
        relayName: ctx.settings.relayName,
        liveCatchUpMs: ctx.settings.liveCatchUpMs,
        expectChanges: row.expect_changes,
        approved: row.approved,
        logger: jobLog,
        onProgress,
        signal: abort.signal,
      });
      clearInterval(poll);
      await reports;
      if (share) {
        await ctx.table.addShare(data.rebuildId, {
          share: share.share,
          partitions: share.partitions,
          worker,
          applied: reported,
        });
        log.info({ applied: reported }, 'rebuild share replayed');
        return {
          outcome: 'replayed',
          share: share.share,
          partitions: share.partitions,
          applied: reported,
          worker,
        };
      }
      if (result.held && result.report) {
        // v+1 is kept; `approve` queues the job again, `cancel` drops it.
        await ctx.table.hold(data.rebuildId, result.report);
        const differing = result.report.tables.reduce((n, t) => n + t.differing, 0);
        return { outcome: 'verifying', version: result.version, differing, worker };
      }
      if (result.report) await ctx.table.recordReport(data.rebuildId, result.report);
      await ctx.table.finish(data.rebuildId, 'completed', { swapPauseMs: result.pauseMs });
      log.info(
        { version: result.version, swapPauseMs: Math.round(result.pauseMs) },
        'rebuild completed',
      );
      return { outcome: 'completed', version: result.version, swapPauseMs: result.pauseMs, worker };
    } catch (error) {
      clearInterval(poll);
      await reports;
      const reason: unknown = abort.signal.reason;
      if (abort.signal.aborted && reason instanceof RebuildCancelled) return cancelled();
      if (abort.signal.aborted && ctx.shutdown.aborted && token) {
        // Back to the queue without using up an attempt; whoever takes it resumes.
        await job.moveToDelayed(Date.now(), token);
        log.info('worker shutting down; rebuild job handed back');
        throw new DelayedError();
      }
      log.warn({ err: error, attempt: job.attemptsMade + 1 }, 'rebuild job failed');
      throw error;
    } finally {
      clearInterval(poll);
      ctx.shutdown.removeEventListener('abort', onShutdown);
    }
  }
}

/**
 * After the last attempt (or a stall too many) a rebuild is failed: its row
 * records the error and the half-built version is dropped. A failed share
 * fails its parent (BullMQ's failParentOnFailure) and the rebuild with it.
 */
export async function onJobFailed(
  ctx: ProcessorContext,
  job: Job | undefined,
  error: Error,
): Promise<void> {
  if (!job || !isJobName(job.name)) return;
  if ((await job.getState()) !== 'failed') return; // it will be retried
  const data = job.data as Partial<RebuildJobData>;
  if (!data.rebuildId) return;
  const finished = await ctx.table.finish(data.rebuildId, 'failed', { error: error.message });
  const projection = data.projection ? ctx.projections.get(data.projection) : undefined;
  if (finished && projection) {
    await dropAnyVersion(ctx.store, projection, finished.target_version, ctx.counters).catch(
      () => {},
    );
  }
  ctx.logger.error(
    { projection: data.projection, job: data.rebuildId, err: error },
    'rebuild failed; its version dropped',
  );
}
