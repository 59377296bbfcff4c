import { defineApp, defineEvent, defineProjection, defineReactor } from '@refract/core';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from './config.js';
import { selectProjections } from './server.js';

const shipped = defineEvent('Shipped', { schema: z.object({ id: z.string() }) });
const app = defineApp({
  events: [shipped],
  projections: [
    defineProjection({
      name: 'shipments',
      handles: ['Shipped'],
      apply: async () => {},
      tables: ['shipments'],
      setup: () => '',
      version: 1,
    }),
  ],
  reactors: [defineReactor({ name: 'notices', handlers: { Shipped: async () => {} } })],
  pools: { hooks: ['shipments', 'notices'] },
});
const env = {
  DATABASE_URL: 'postgres://localhost/x',
  REDIS_URL: 'redis://localhost',
  POOL: 'hooks',
};
const names = (projections: string | undefined) => {
  const selected = selectProjections(app, loadConfig({ ...env, PROJECTIONS: projections }));
  return {
    projections: selected.projections.map((p) => p.name),
    reactors: (selected.reactors ?? []).map((r) => r.name),
  };
};

it('runs the reactors PROJECTIONS names, and only those, beside the projections it names', () => {
  expect(names(undefined)).toEqual({ projections: ['shipments'], reactors: ['notices'] });
  expect(names('notices')).toEqual({ projections: [], reactors: ['notices'] });
  expect(names('shipments')).toEqual({ projections: ['shipments'], reactors: [] });
  expect(names('shipments, notices')).toEqual({
    projections: ['shipments'],
    reactors: ['notices'],
  });
  expect(() => names('notices,ghost')).toThrow(/^PROJECTIONS: unknown projection ghost/);
});
