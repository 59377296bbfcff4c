import { expect, it } from 'vitest';
import { z } from 'zod';
import { AppConfigError, defineApp } from './app.js';
import { defineEvent } from './event-type.js';
import { defineProjection } from './projection.js';
import {
  defineReactor,
  EffectHttpError,
  isTransientEffectError,
  TransientEffectError,
} from './reactor.js';

const shipped = defineEvent('Shipped', { schema: z.object({ id: z.string() }) });
const notices = (name = 'notices') =>
  defineReactor<{ type: 'Shipped'; data: { id: string } }>({
    name,
    handlers: { Shipped: async () => {} },
  });

it('puts reactors in pools beside projections, and refuses one named like a projection or handling an undeclared type', () => {
  const app = defineApp({
    events: [shipped],
    reactors: [notices()],
    pools: { hooks: ['notices'] },
  });
  expect(app.pools).toEqual(['hooks']);
  expect(app.reactorsOf('hooks').map((r) => [r.name, r.pool, r.handles])).toEqual([
    ['notices', 'hooks', ['Shipped']],
  ]);
  expect(app.reactor('notices')?.kind).toBe('reactor');
  expect(app.projection('notices')).toBeUndefined();
  // A pool of reactors alone is a pool a worker can run.
  expect(app.projectionsOf('hooks')).toEqual([]);

  const table = defineProjection({
    name: 'notices',
    version: 1,
    pool: 'hooks',
    tables: ['notices'],
    setup: () => '',
    handles: ['Shipped'],
    apply: async () => {},
  });
  const twice = () =>
    defineApp({ events: [shipped], projections: [table], reactors: [notices()], pools: {} });
  expect(twice).toThrow(AppConfigError);
  expect(twice).toThrow(/two projections are named notices/);
  expect(() => defineApp({ reactors: [notices('lonely')], pools: { hooks: ['lonely'] } })).toThrow(
    /reactor lonely handles Shipped, which is not a declared event type/,
  );
});

it("retries network failures, timeouts, 429 and 5xx; parks 4xx and the handler's own errors", () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const fetchFailed = new TypeError('fetch failed', { cause: refused });
  const timeout = Object.assign(new Error('timed out'), { name: 'TimeoutError' });
  for (const transient of [
    refused,
    fetchFailed,
    timeout,
    new EffectHttpError(503, 'http://x'),
    new EffectHttpError(429, 'http://x'),
    new TransientEffectError('later'),
  ]) {
    expect(isTransientEffectError(transient), String(transient)).toBe(true);
  }
  for (const deterministic of [
    new EffectHttpError(400, 'http://x'),
    new EffectHttpError(404, 'http://x'),
    new Error('order cannot be shipped'),
  ]) {
    expect(isTransientEffectError(deterministic), String(deterministic)).toBe(false);
  }
});

it('narrows a pool to names that may be reactors: a worker named a reactor runs it, one named only projections does not', () => {
  const counts = defineProjection({
    name: 'shipments',
    version: 1,
    tables: ['shipments'],
    setup: () => '',
    handles: ['Shipped'],
    apply: async () => {},
  });
  const app = defineApp({
    events: [shipped],
    projections: [counts],
    reactors: [notices(), notices('audit_hooks')],
    pools: { hooks: ['shipments', 'notices', 'audit_hooks'] },
  });
  expect(app.projectionsOf('hooks', ['notices'])).toEqual([]);
  expect(app.reactorsOf('hooks', ['notices']).map((r) => r.name)).toEqual(['notices']);
  expect(app.projectionsOf('hooks', ['shipments']).map((p) => p.name)).toEqual(['shipments']);
  expect(app.reactorsOf('hooks', ['shipments'])).toEqual([]);
  expect(app.reactorsOf('hooks').map((r) => r.name)).toEqual(['notices', 'audit_hooks']);
  expect(() => app.projectionsOf('other', ['notices'])).toThrow(
    /notices belongs to pool hooks, not other/,
  );
  expect(() => app.projectionsOf('hooks', ['ghost'])).toThrow(/unknown projection ghost/);
});
