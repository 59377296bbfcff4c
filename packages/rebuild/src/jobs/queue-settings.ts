import type { DefaultJobOptions } from 'bullmq';

/** The BullMQ queue every rebuild job goes through. */
export const REBUILD_QUEUE = 'rebuild';

/**
 * BullMQ's key prefix: under the configured Redis prefix, with a hash tag so
 * that every key of the queue lands in one Redis Cluster slot (BullMQ's Lua
 * scripts touch several of them at once).
 */
export function bullPrefix(keyPrefix: string): string {
  return `${keyPrefix}{rebuild}`;
}

/** Settings shared by the queue (job defaults) and the workers (locks, stalls). */
export interface RebuildJobSettings {
  /** Tries of a failing rebuild before it is failed; each resumes from the checkpoints. @defaultValue 3 */
  attempts?: number;
  /** First retry delay, doubled on each further try. @defaultValue 5000 */
  backoffMs?: number;
  /** Finished jobs kept in Redis (the `refract.rebuilds` row outlives them). @defaultValue 100 */
  keepCompleted?: number;
  /** Failed jobs kept in Redis. @defaultValue 500 */
  keepFailed?: number;
  /** A job whose worker did not renew its lock in this time is stalled and handed to another. @defaultValue 30000 */
  lockDurationMs?: number;
  /** How often workers look for stalled jobs. @defaultValue 15000 */
  stalledIntervalMs?: number;
  /** Stalls (a killed process each) a job survives before it is failed. @defaultValue 3 */
  maxStalledCount?: number;
}

export function jobDefaults(settings: RebuildJobSettings): DefaultJobOptions {
  return {
    attempts: settings.attempts ?? 3,
    backoff: { type: 'exponential', delay: settings.backoffMs ?? 5000 },
    removeOnComplete: { count: settings.keepCompleted ?? 100 },
    removeOnFail: { count: settings.keepFailed ?? 500 },
  };
}
