import type { Metrics } from '@refract/observability';
import type { CheckpointWatcherOptions } from '@refract/read-your-writes';
import { httpMetrics } from '@refract/service-kit';

/** Seconds; from a primary-key read (~1 ms) to a long read-your-writes wait. */
const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/**
 * The query API's metrics. Idempotent (same registry, same metrics). Every
 * label has a bounded set of values: routes are patterns, projections those
 * the query APIs' routes name, outcomes a fixed list.
 */
export function queryApiMetrics(metrics: Metrics) {
  const http = httpMetrics(metrics, LATENCY_BUCKETS);
  const waits = metrics.counter({
    name: 'refract_query_api_waits_total',
    help: 'Read-your-writes waits by projection and outcome: immediate, notification, recheck, timeout, closed.',
    labelNames: ['projection', 'outcome'] as const,
  });
  const waitDuration = metrics.histogram({
    name: 'refract_query_api_wait_duration_seconds',
    help: 'Time requests with minPosition spent waiting for checkpoints.',
    labelNames: ['projection'] as const,
    buckets: LATENCY_BUCKETS,
  });
  const pendingWaits = metrics.gauge({
    name: 'refract_query_api_pending_waits',
    help: 'Requests waiting for a checkpoint right now.',
  });
  const listening = metrics.gauge({
    name: 'refract_query_api_listening',
    help: '1 while the LISTEN connection for checkpoint notifications is up.',
  });
  const rechecks = metrics.counter({
    name: 'refract_query_api_checkpoint_rechecks_total',
    help: 'Safety re-reads of checkpoints while requests wait (notifications do the waking).',
  });
  return { ...http, waits, waitDuration, pendingWaits, listening, rechecks };
}

export type QueryApiMetrics = ReturnType<typeof queryApiMetrics>;

/** The watcher's callbacks that keep these metrics: spread them into its options. */
export function watcherMetrics(
  metrics: QueryApiMetrics,
): Pick<CheckpointWatcherOptions, 'onListening' | 'onRecheck' | 'onWait'> {
  return {
    onListening: (listening) => metrics.listening.set(listening ? 1 : 0),
    onRecheck: () => metrics.rechecks.inc(),
    onWait: ({ projection, outcome, seconds }) => {
      metrics.waits.inc({ projection, outcome });
      metrics.waitDuration.observe({ projection }, seconds);
    },
  };
}
