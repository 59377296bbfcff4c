/** The admin API's bodies as the CLI reads them (services/admin/README.md). */

export type ProjectionStatus = 'running' | 'paused' | 'rebuilding' | 'halted' | 'tripped';

export interface PartitionInfo {
  partition: number;
  checkpoint: number | string | null;
  owner: string | null;
  lagEvents: number;
}

export interface RebuildProgress {
  jobId: string;
  state: string;
  processed: number;
  total: number | null;
  eventsPerSecond: number | null;
  etaSeconds: number | null;
}

export interface ProjectionInfo {
  name: string;
  version: number;
  pool: string;
  status: ProjectionStatus | string;
  headPosition: number;
  lagEvents: number;
  lagSeconds: number | null;
  eventsPerSecond: number | null;
  parked: number;
  /** Work waits and no checkpoint has moved for admin's stall threshold. */
  stalled: boolean;
  stalledSeconds: number;
  partitions: PartitionInfo[];
  rebuild: RebuildProgress | null;
  /** Set while its breaker is tripped (too many parked events). */
  tripped?: { at: string; reason: string } | null;
  quarantinedStreams?: number;
  /** Its open parked events' errors, grouped by message, most frequent first. */
  topErrors?: { message: string; events: number }[];
}

export interface WorkerInfo {
  id: string;
  pool: string;
  host: string | null;
  pid: number | null;
  partitions: number[];
  /** ISO time or epoch milliseconds. */
  lastHeartbeat: string | number | null;
}

/** The database session leading the relay. */
export interface RelayLeader {
  pid: number;
  application: string | null;
  address: string | null;
  connectedAt: string;
}

export interface RelayInfo {
  leader: RelayLeader | null;
  publishedPosition: number;
  headPosition: number;
  lagEvents: number;
  /** Set while the leader waits on a gap that may still commit. */
  heldAt?: { position: number; sinceSeconds: number } | null;
}

export interface JobInfo {
  jobId: string;
  projection: string;
  state: string;
  processed: number;
  total: number | null;
  eventsPerSecond: number | null;
  etaSeconds: number | null;
  error?: string;
  /** The comparison of v+1 with the live version before the swap (verified cutover). */
  cutoverReport?: CutoverReportInfo | null;
}

/** A rebuild's cutover report, as much of it as the CLI prints. */
export interface CutoverReportInfo {
  verdict: 'identical' | 'expected' | 'unexpected' | string;
  liveVersion: number;
  version: number;
  tables: {
    table: string;
    rows: { live: number; next: number };
    differing: number;
    unexpected: number;
    first: { key: Record<string, unknown>; live: unknown; next: unknown }[];
  }[];
}

/** A parked event: the API promises its id and its error; the rest is shown when present. */
export interface ParkedEvent {
  id: string | number;
  error: string;
  partition?: number;
  position?: number | string;
  eventId?: string;
  eventType?: string;
  type?: string;
  attempts?: number;
  parkedAt?: string;
  resolution?: 'retried' | 'skipped' | null;
  [field: string]: unknown;
}

/** A quarantined stream: its parked events in order, the first the one that failed. */
export interface QuarantinedStream {
  streamId: string;
  partition: number;
  events: ParkedEvent[];
}

export interface ParkedStreamsPage {
  streams: QuarantinedStream[];
  /** The cursor of the next page; null on the last. */
  next: string | null;
}

export interface RetryAllResult {
  streams: number;
  applied: number;
  failed: { streamId: string; error: string }[];
}

/** The states after which a rebuild job changes no more. */
export const FINAL_JOB_STATES = ['completed', 'failed', 'cancelled'] as const;

export function isFinalJobState(state: string): boolean {
  return (FINAL_JOB_STATES as readonly string[]).includes(state);
}

/** A rebuild held before its swap on undeclared differences: it waits for approve or cancel. */
export const HELD_JOB_STATE = 'verifying';

/** `POST /api/projections/:name/audit`: the completeness audit of its live version. */
export interface AuditInfo {
  projection: string;
  version: number;
  complete: boolean;
  missing: number;
  since: number;
  auditedAt: string | null;
  partitions: { partition: number; checkpoint: number; missing: number; since: number }[];
}

/** `GET /api/reactors`: a reactor and its effects as the ledger counts them. */
export interface ReactorInfo {
  name: string;
  pool: string;
  delivered: number;
  exactlyOnce: number;
  atLeastOnce: number;
  pending: number;
}

/** `POST /api/reactors/{name}/replay`. */
export interface ReplayInfo {
  name: string;
  from: number;
  partitions: number[];
}
