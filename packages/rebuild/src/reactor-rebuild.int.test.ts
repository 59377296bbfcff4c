import { defineProjection, defineReactor, postJson } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { ProjectorWorker, reactorProjection } from '@refract/projector';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  startWebhookSink,
} from '@refract/testing';
import { afterEach, expect, it } from 'vitest';
import { rebuildProjection } from './rebuild.js';

const logger = createLogger({ service: 'reactor-rebuild-test', level: 'silent' });
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('a rebuild of a projection in the same pool as a reactor calls its sink zero times, and a rebuild of the reactor is refused', async () => {
  const db = await createTestDatabase('reactor_rebuild');
  cleanups.push(() => db.drop());
  await migrate({ databaseUrl: db.url, partitions: 4 });
  const ns = createTestRedisNamespace('reactor_rebuild');
  cleanups.push(() => ns.cleanup());
  const store = await EventStore.open({ databaseUrl: db.url });
  cleanups.push(() => store.close());
  const relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(ns.url),
    keyPrefix: ns.prefix,
  });
  relay.start();
  cleanups.push(() => relay.close());
  const sink = await startWebhookSink();
  cleanups.push(() => sink.close());

  const shipped = defineProjection({
    name: 'shipped_orders',
    version: 1,
    pool: 'mixed',
    tables: ['shipped_orders'],
    setup: (table) =>
      `CREATE TABLE IF NOT EXISTS ${table('shipped_orders')} (order_id text PRIMARY KEY)`,
    handles: ['OrderShipped'],
    apply: async (event, ctx) => {
      await ctx.sql.query(
        `INSERT INTO ${ctx.table('shipped_orders')} VALUES ($1) ON CONFLICT DO NOTHING`,
        [(event.data as { orderId: string }).orderId],
      );
    },
  });
  const notices = defineReactor<{ type: 'OrderShipped'; data: { orderId: string } }>({
    name: 'mixed_notices',
    pool: 'mixed',
    handlers: {
      OrderShipped: async (event, ctx) => {
        const key = `notice:${event.data.orderId}`;
        await ctx.effect(key, () => postJson(sink.url, { key }));
      },
    },
  });
  const worker = new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    pool: 'mixed',
    projections: [shipped],
    reactors: [notices],
    heartbeatMs: 100,
    blockMs: 100,
    logger,
  });
  cleanups.push(() => worker.close());
  await worker.start();
  const ship = (orderId: string) =>
    store.append(`order-${orderId}`, [{ type: 'OrderShipped', data: { orderId } }]);
  const shippedRows = async (table: string) =>
    (await store.pool.query(`SELECT order_id FROM ${table}`)).rowCount;

  for (const id of ['a', 'b', 'c', 'd', 'e']) await ship(id);
  await eventually(async () => {
    expect(sink.keys()).toHaveLength(5);
    expect(await shippedRows('projections.shipped_orders')).toBe(5);
  });
  // Forgotten by the ledger: only rebuilds never running the reactor keeps them from being called.
  await store.pool.query(`DELETE FROM refract.effect_ledger WHERE reactor = 'mixed_notices'`);

  const result = await rebuildProjection({ store, projection: shipped, logger });
  expect(result.version).toBe(2);
  // The rebuild replayed every event into v2, and the worker went on after the swap.
  expect(await shippedRows('projections.shipped_orders_v2')).toBe(5);
  await ship('f');
  await eventually(async () => {
    expect(sink.count('notice:f')).toBe(1);
    expect(await shippedRows('projections.shipped_orders')).toBe(6);
  });
  expect(sink.deliveries).toHaveLength(6);

  await expect(
    rebuildProjection({ store, projection: reactorProjection(notices, store.pool), logger }),
  ).rejects.toMatchObject({ code: 'reactor_not_rebuildable' });
  expect(sink.deliveries).toHaveLength(6);
}, 60_000);
