import type { Metrics } from '@refract/observability';
import { httpMetrics } from '@refract/service-kit';

/** Seconds; from a lone commit on a quiet database (~2 ms) to a stalled one. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];

/**
 * The write API's metrics. Idempotent: main defines them before opening the
 * store (for `onCommit`) and buildApp defines them again on the same registry.
 * Every label has a bounded set of values: outcomes are error codes, routes
 * are route patterns, commands come from the catalog.
 */
export function writeApiMetrics(metrics: Metrics) {
  const http = httpMetrics(metrics, LATENCY_BUCKETS);
  const appends = metrics.counter({
    name: 'refract_write_api_appends_total',
    help: 'Append requests by outcome: created, duplicate, or the error code.',
    labelNames: ['outcome'] as const,
  });
  const appendDuration = metrics.histogram({
    name: 'refract_write_api_append_duration_seconds',
    help: 'Time the event store took to answer an append, queueing for group commit included.',
    buckets: LATENCY_BUCKETS,
  });
  const commands = metrics.counter({
    name: 'refract_write_api_commands_total',
    help: 'Commands by type and outcome: ok, replayed (an Idempotency-Key seen before), or the error code.',
    labelNames: ['command', 'outcome'] as const,
  });
  const eventsAppended = metrics.counter({
    name: 'refract_events_appended_total',
    help: 'Events written to the log (duplicates of earlier appends not counted).',
  });
  const commitBatch = metrics.histogram({
    name: 'refract_group_commit_batch_appends',
    help: 'Appends that shared one group-commit transaction.',
    buckets: BATCH_BUCKETS,
  });
  const commitDuration = metrics.histogram({
    name: 'refract_group_commit_duration_seconds',
    help: 'Duration of one group-commit transaction.',
    buckets: LATENCY_BUCKETS,
  });
  return {
    ...http,
    appends,
    appendDuration,
    commands,
    /** Pass as EventStore's `onCommit`. */
    onCommit(appendCount: number, eventCount: number, durationMs: number): void {
      eventsAppended.inc(eventCount);
      commitBatch.observe(appendCount);
      commitDuration.observe(durationMs / 1000);
    },
  };
}

export type WriteApiMetrics = ReturnType<typeof writeApiMetrics>;
