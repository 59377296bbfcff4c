import type { Metrics } from '@refract/observability';

/**
 * The request metrics every HTTP service exposes; `createHttpApp` records
 * them for each answer. Idempotent (same registry, same metrics). Labels are
 * bounded: routes are patterns (`unmatched` for 404s), never raw URLs.
 */
export function httpMetrics(metrics: Metrics, latencyBuckets: number[]) {
  const httpRequests = metrics.counter({
    name: 'refract_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
  });
  const httpDuration = metrics.histogram({
    name: 'refract_http_request_duration_seconds',
    help: 'Time from receiving a request to answering it.',
    labelNames: ['method', 'route'] as const,
    buckets: latencyBuckets,
  });
  return { httpRequests, httpDuration };
}

export type HttpMetrics = ReturnType<typeof httpMetrics>;
