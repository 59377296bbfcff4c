import type { Metrics } from '@refract/observability';
import type { ProjectorWorker } from '@refract/projector';

/**
 * The worker's metrics: gauges read its status when scraped, the rest is fed
 * by observing its batches. Labels: projection names (from the catalog) and
 * partitions (at most the partition count): bounded.
 */
export function workerMetrics(metrics: Metrics, worker: ProjectorWorker): void {
  const applied = metrics.counter({
    name: 'refract_projector_events_applied_total',
    help: 'Events handed to a projection (handled types only), by projection.',
    labelNames: ['projection'] as const,
  });
  const batches = metrics.histogram({
    name: 'refract_projector_batch_duration_seconds',
    help: 'Time of one batch transaction (checkpoint CAS, writes, commit), by projection.',
    labelNames: ['projection'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  });
  const batchEvents = metrics.histogram({
    name: 'refract_projector_batch_events',
    help: 'Events applied by one batch transaction (handled types only), by projection.',
    labelNames: ['projection'] as const,
    buckets: [0, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  });
  const parked = metrics.counter({
    name: 'refract_projector_parked_events_total',
    help: 'Events parked after their last attempt, by projection.',
    labelNames: ['projection'] as const,
  });
  metrics.gauge({
    name: 'refract_projector_owned_partitions',
    help: 'Partitions this worker holds the lease of.',
    collect() {
      this.set(worker.status().partitions.length);
    },
  });
  metrics.gauge({
    name: 'refract_projector_checkpoint_position',
    help: 'Checkpoint of each owned partition, by projection and partition.',
    labelNames: ['projection', 'partition'] as const,
    collect() {
      this.reset();
      for (const c of worker.status().checkpoints) {
        this.set({ projection: c.projection, partition: String(c.partition) }, c.position);
      }
    },
  });
  worker.observeBatches((projection, outcome, durationMs) => {
    applied.inc({ projection }, outcome.applied);
    if (outcome.parked > 0) parked.inc({ projection }, outcome.parked);
    batches.observe({ projection }, durationMs / 1000);
    batchEvents.observe({ projection }, outcome.applied);
  });
}
