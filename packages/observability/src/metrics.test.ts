import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

describe('createMetrics', () => {
  it('collects process metrics without a prefix', async () => {
    const metrics = createMetrics();
    const text = await metrics.render();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(metrics.contentType).toMatch(/^text\/plain/);
  });

  it('leaves out the default gauges named like counters (promtool refuses them), keeping their per-type twins', async () => {
    const text = await createMetrics().render();
    expect(text).not.toMatch(/^nodejs_active_\w+_total/m);
    expect(text).toMatch(/^# TYPE nodejs_active_handles gauge/m);
  });

  it('defines counters and histograms on its own registry', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    const counter = a.counter({ name: 'x_total', help: 'x', labelNames: ['outcome'] as const });
    counter.inc({ outcome: 'ok' });
    a.histogram({ name: 'x_seconds', help: 'x', buckets: [0.1, 1] }).observe(0.5);
    const text = await a.render();
    expect(text).toContain('x_total{outcome="ok"} 1');
    expect(text).toContain('x_seconds_bucket{le="1"} 1');
    expect(await b.render()).not.toContain('x_total');
  });

  it('returns the metric already defined under a name, and refuses another type', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const first = metrics.counter({ name: 'y_total', help: 'y' });
    expect(metrics.counter({ name: 'y_total', help: 'y' })).toBe(first);
    expect(() => metrics.gauge({ name: 'y_total', help: 'y' })).toThrow(/another type/);
  });
});
