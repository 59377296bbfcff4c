/**
 * What the admin service needs of the rebuild job layer (packages/rebuild's
 * `createRebuildQueue`), so routes and the overview can be built and tested
 * apart from BullMQ.
 */
export interface RebuildJobView {
  jobId: string;
  projection: string;
  state: 'waiting' | 'active' | 'completed' | 'failed' | 'cancelled';
  processed: number;
  total: number;
  eventsPerSecond: number;
  etaSeconds: number | null;
  error?: string;
}

export interface RebuildJobs {
  /** Throws a RefractError-like `{ code: 'rebuild_running', details: { jobId } }` while one runs. */
  enqueue(name: string): Promise<{ jobId: string }>;
  get(jobId: string): Promise<RebuildJobView | null>;
  /** The projection's job that is waiting or running, else null. */
  current(name: string): Promise<RebuildJobView | null>;
  cancel(jobId: string): Promise<unknown>;
}

/** The summary of a running rebuild that /api/projections shows. */
export function rebuildSummary(job: RebuildJobView | null) {
  if (!job) return null;
  const { jobId, state, processed, total, eventsPerSecond, etaSeconds } = job;
  return { jobId, state, processed, total, eventsPerSecond, etaSeconds };
}
