import type { CutoverReport, ExpectChanges } from '../cutover.js';

/** `verifying`: held before the swap on undeclared differences, until approved or cancelled. */
export type RebuildState =
  | 'waiting'
  | 'active'
  | 'verifying'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** One share of a rebuild flow, as recorded when it finished. */
export interface RebuildShareView {
  share: number;
  partitions: number[];
  /** The rebuild worker that ran it. */
  worker: string;
  /** Events it applied in its last run. */
  applied: number;
}

/** A rebuild as the admin API and dashboard show it. */
export interface RebuildJobView {
  jobId: string;
  projection: string;
  state: RebuildState;
  /** Events of the handled types applied to the target version so far. */
  processed: number;
  /** Events of the handled types in the log (grows while appends continue). */
  total: number;
  /** Mean rate since the job started. */
  eventsPerSecond: number;
  /** At the mean rate; null before there is one, 0 once finished. */
  etaSeconds: number | null;
  error?: string;
  targetVersion?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How long live workers waited on the swap. */
  swapPauseMs?: number;
  cancelRequested: boolean;
  /** Partition shares run as child jobs; empty when one process replayed everything. */
  shares: RebuildShareView[];
  /** Differences declared with the rebuild: they do not hold the swap. */
  expectChanges: ExpectChanges;
  /** The comparison of v+1 with v before the swap, once made. */
  cutoverReport: CutoverReport | null;
  /** An operator approved the held report; the swap follows without comparing again. */
  approved: boolean;
}

/** A `refract.rebuilds` row as node-postgres returns it. */
export interface RebuildRow {
  job_id: string;
  projection: string;
  state: RebuildState;
  target_version: number;
  processed: number;
  total: number;
  shares: RebuildShareView[];
  cancel_requested: boolean;
  error: string | null;
  swap_pause_ms: number | null;
  expect_changes: ExpectChanges;
  cutover_report: CutoverReport | null;
  approved: boolean;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export function viewOf(row: RebuildRow, now = Date.now()): RebuildJobView {
  // A held rebuild is not running: no ETA to count down.
  const finished = row.finished_at !== null || row.state === 'verifying';
  const end = row.finished_at?.getTime() ?? now;
  const seconds = row.started_at ? (end - row.started_at.getTime()) / 1000 : 0;
  const eventsPerSecond = seconds > 0 ? row.processed / seconds : 0;
  const etaSeconds = finished
    ? 0
    : eventsPerSecond > 0
      ? Math.max(0, Math.round((row.total - row.processed) / eventsPerSecond))
      : null;
  return {
    jobId: row.job_id,
    projection: row.projection,
    state: row.state,
    processed: row.processed,
    total: row.total,
    eventsPerSecond: Math.round(eventsPerSecond),
    etaSeconds,
    ...(row.error !== null && { error: row.error }),
    targetVersion: row.target_version,
    createdAt: row.created_at.toISOString(),
    ...(row.started_at && { startedAt: row.started_at.toISOString() }),
    ...(row.finished_at && { finishedAt: row.finished_at.toISOString() }),
    ...(row.swap_pause_ms !== null && { swapPauseMs: row.swap_pause_ms }),
    cancelRequested: row.cancel_requested,
    shares: row.shares,
    expectChanges: row.expect_changes,
    cutoverReport: row.cutover_report,
    approved: row.approved,
  };
}
