import type { Metrics } from '@refract/observability';
import { httpMetrics } from '@refract/service-kit';
import type { ProjectionStatus, ProjectionView, RelayView, WorkerView } from './overview.js';

/** Seconds; from a cached overview (~1 ms) to a slow lag read. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const STATUSES: readonly ProjectionStatus[] = [
  'running',
  'paused',
  'rebuilding',
  'halted',
  'tripped',
];

/** BullMQ's job counts by state, for the queue gauge. */
export type QueueCounts = Record<string, number>;

/**
 * The admin service's metrics, set from the overview at each scrape.
 * Labels are bounded: projections and pools are the registered ones,
 * partitions at most the install's partition count, statuses a fixed list.
 * `refract_projection_lag_events{projection,pool}` is the one to autoscale a
 * pool on.
 */
export function adminMetrics(metrics: Metrics) {
  const http = httpMetrics(metrics, LATENCY_BUCKETS);
  const gauge = <L extends string>(name: string, labelNames: readonly L[], help: string) =>
    metrics.gauge({ name, help, labelNames });
  const projection = ['projection', 'pool'] as const;
  const partition = ['projection', 'partition'] as const;
  const gauges = {
    lagEvents: gauge(
      'refract_projection_lag_events',
      projection,
      'Events appended but not yet applied by the live version of a projection (scale its pool on this).',
    ),
    lagSeconds: gauge(
      'refract_projection_lag_seconds',
      projection,
      'Age of the oldest event the projection has not applied yet; 0 when caught up.',
    ),
    eventsPerSecond: gauge(
      'refract_projection_events_per_second',
      projection,
      'Events the projection applied per second, from checkpoint movement.',
    ),
    parked: gauge(
      'refract_projection_parked_events',
      projection,
      'Open parked events of a projection (retry or skip them from the admin API).',
    ),
    status: metrics.gauge({
      name: 'refract_projection_status',
      help: '1 for the projection status it is in (running, paused, rebuilding, halted, tripped), 0 for the others.',
      labelNames: ['projection', 'pool', 'status'] as const,
    }),
    tripped: gauge(
      'refract_projection_tripped',
      projection,
      '1 while the projection is tripped (too many parked events; resume it once fixed), else 0.',
    ),
    quarantined: gauge(
      'refract_projection_quarantined_streams',
      projection,
      'Streams of a projection with open parked events: their later events wait parked.',
    ),
    stalled: gauge(
      'refract_projection_stalled',
      projection,
      '1 while the projection has work but its checkpoint has not moved for the stall threshold.',
    ),
    stalledSeconds: gauge(
      'refract_projection_stalled_seconds',
      projection,
      'How long the projection has had work while a checkpoint stood still.',
    ),
    partitionLagEvents: gauge(
      'refract_projection_partition_lag_events',
      partition,
      'Unapplied events of one partition of a projection.',
    ),
    partitionLagSeconds: gauge(
      'refract_projection_partition_lag_seconds',
      partition,
      'Age of the oldest unapplied event of one partition of a projection.',
    ),
    checkpoint: gauge(
      'refract_projection_checkpoint_position',
      partition,
      'The checkpoint of one partition of a projection: every event up to it is applied.',
    ),
    rebuildProcessed: gauge(
      'refract_rebuild_processed_events',
      ['projection'] as const,
      'Events replayed so far by the projection running rebuild.',
    ),
    rebuildProgress: gauge(
      'refract_rebuild_progress_ratio',
      ['projection'] as const,
      'Share of the running rebuild done, from 0 to 1.',
    ),
    queueJobs: gauge(
      'refract_rebuild_queue_jobs',
      ['state'] as const,
      'Jobs in the rebuild queue by BullMQ state.',
    ),
    auditMissing: gauge(
      'refract_projection_audit_missing',
      ['projection', 'version'] as const,
      'Events of handled types at or below the checkpoints that the last completeness audit found neither applied nor parked; 0 when complete.',
    ),
    workers: gauge('refract_pool_workers', ['pool'] as const, 'Live workers of a pool.'),
    relayLag: gauge(
      'refract_relay_lag_events',
      ['relay'] as const,
      'Events appended but not yet published by the relay.',
    ),
    relayLeader: gauge(
      'refract_relay_has_leader',
      ['relay'] as const,
      '1 while some relay holds leadership (someone publishes), 0 when none does.',
    ),
    relayHeldSeconds: gauge(
      'refract_relay_held_seconds',
      ['relay'] as const,
      'How long the relay has waited on a gap (a transaction that may still commit); 0 when not held.',
    ),
  };

  /** Sets every gauge from one overview; series of projections that are gone disappear. */
  function update(
    overview: { projections: ProjectionView[]; workers?: WorkerView[]; relay?: RelayView },
    queueCounts?: QueueCounts,
  ): void {
    for (const gauge of [
      gauges.lagEvents,
      gauges.lagSeconds,
      gauges.eventsPerSecond,
      gauges.parked,
      gauges.tripped,
      gauges.quarantined,
      gauges.status,
      gauges.stalled,
      gauges.stalledSeconds,
      gauges.partitionLagEvents,
      gauges.partitionLagSeconds,
      gauges.checkpoint,
      gauges.rebuildProcessed,
      gauges.rebuildProgress,
    ]) {
      gauge.reset();
    }
    for (const p of overview.projections) {
      const labels = { projection: p.name, pool: p.pool };
      gauges.lagEvents.set(labels, p.lagEvents);
      gauges.lagSeconds.set(labels, p.lagSeconds);
      gauges.eventsPerSecond.set(labels, p.eventsPerSecond);
      gauges.parked.set(labels, p.parked);
      gauges.tripped.set(labels, p.tripped ? 1 : 0);
      gauges.quarantined.set(labels, p.quarantinedStreams);
      gauges.stalled.set(labels, p.stalled ? 1 : 0);
      gauges.stalledSeconds.set(labels, p.stalledSeconds);
      for (const status of STATUSES) {
        gauges.status.set({ ...labels, status }, p.status === status ? 1 : 0);
      }
      for (const part of p.partitions) {
        const at = { projection: p.name, partition: String(part.partition) };
        gauges.partitionLagEvents.set(at, part.lagEvents);
        gauges.partitionLagSeconds.set(at, part.lagSeconds);
        gauges.checkpoint.set(at, part.checkpoint);
      }
      if (p.rebuild) {
        gauges.rebuildProcessed.set({ projection: p.name }, p.rebuild.processed);
        gauges.rebuildProgress.set(
          { projection: p.name },
          p.rebuild.total > 0 ? Math.min(1, p.rebuild.processed / p.rebuild.total) : 0,
        );
      }
    }
    if (overview.workers) {
      gauges.workers.reset();
      const pools = new Set(overview.projections.map((p) => p.pool));
      for (const pool of pools) {
        gauges.workers.set({ pool }, overview.workers.filter((w) => w.pool === pool).length);
      }
    }
    if (overview.relay) {
      const relay = { relay: overview.relay.name };
      gauges.relayLag.set(relay, overview.relay.lagEvents);
      gauges.relayLeader.set(relay, overview.relay.leader ? 1 : 0);
      gauges.relayHeldSeconds.set(relay, overview.relay.heldAt?.sinceSeconds ?? 0);
    }
    if (queueCounts) {
      for (const [state, count] of Object.entries(queueCounts)) {
        gauges.queueJobs.set({ state }, count);
      }
    }
  }

  /** One projection version's completeness audit, as it ends. */
  function audit(result: { projection: string; version: number; missing: number }): void {
    gauges.auditMissing.set(
      { projection: result.projection, version: String(result.version) },
      result.missing,
    );
  }

  return { ...http, update, audit };
}

export type AdminMetrics = ReturnType<typeof adminMetrics>;
