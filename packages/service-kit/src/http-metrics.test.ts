import { createMetrics } from '@refract/observability';
import { describe, expect, it } from 'vitest';
import { httpMetrics } from './http-metrics.js';

describe('httpMetrics', () => {
  it('defines the request counter and histogram once per registry, with the given buckets', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const first = httpMetrics(metrics, [0.5, 5]);
    const again = httpMetrics(metrics, [0.5, 5]);
    expect(again.httpRequests).toBe(first.httpRequests);
    expect(again.httpDuration).toBe(first.httpDuration);
    first.httpDuration.observe({ method: 'GET', route: '/x' }, 1);
    const text = await metrics.render();
    expect(text).toContain(
      'refract_http_request_duration_seconds_bucket{le="0.5",method="GET",route="/x"} 0',
    );
    expect(text).toContain(
      'refract_http_request_duration_seconds_bucket{le="5",method="GET",route="/x"} 1',
    );
  });
});
