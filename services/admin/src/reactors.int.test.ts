import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineReactor } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger, createMetrics } from '@refract/observability';
import { ProjectorWorker, registerReactor } from '@refract/projector';
import { createRebuildQueue } from '@refract/rebuild';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import { createTestDatabase, createTestRedisNamespace, eventually } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from './app.js';
import type { ProjectionView } from './overview.js';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const logger = createLogger({ service: 'admin-reactors-test', level: 'silent' });
const notices = defineReactor({
  name: 'notices',
  pool: 'hooks',
  handlers: { OrderShipped: async () => {} },
});
/** While `refusing`, refuses the orders marked bad (parked); each order's notice is an effect. */
const picky = {
  refusing: true,
  seen: [] as number[],
  calls: [] as string[],
};
const pickyReactor = defineReactor<{
  type: 'OrderShipped';
  data: { n: number; bad?: boolean };
}>({
  name: 'picky',
  pool: 'picky',
  handlers: {
    OrderShipped: async (event, ctx) => {
      const { n, bad } = event.data;
      if (bad && picky.refusing) throw new Error(`order ${n} refused`);
      picky.seen.push(n);
      await ctx.effect(`notice-${n}`, () => {
        picky.calls.push(`notice-${n}`);
      });
    },
  },
});
/** One database, Redis prefix, rebuild queue and admin app for the file. */
async function setUp() {
  const db = await createTestDatabase('admin_reactors');
  const ns = createTestRedisNamespace('admin_reactors');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  const store = await EventStore.open({ databaseUrl: db.url });
  const redis = createRedisClient(ns.url);
  const rebuild = createRebuildQueue({
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    store,
    projections: [],
    logger,
  });
  const dashboardDir = await mkdtemp(join(tmpdir(), 'refract-dashboard-'));
  const admin = await buildApp({
    store,
    redis,
    keyPrefix: ns.prefix,
    projections: [],
    reactors: [notices, pickyReactor],
    token: TOKEN,
    metricsRefreshMs: 3_600_000,
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    rebuild,
    dashboardDir,
  });
  const close = async () => {
    await admin.app.close();
    await rebuild.close();
    redis.disconnect();
    await store.close();
    await ns.cleanup();
    await db.drop();
    await rm(dashboardDir, { recursive: true, force: true });
  };
  return { db, ns, store, rebuild, admin, close };
}

let t: Awaited<ReturnType<typeof setUp>>;

beforeAll(async () => {
  t = await setUp();
  await t.admin.app.ready();
  for (let i = 0; i < 8; i++) {
    await t.store.append(`order-${i}`, [{ type: 'OrderShipped', data: { orderId: String(i) } }]);
  }
  await registerReactor(t.store.pool, notices, t.store.partitions);
  // Two effects done once, one done after a second attempt, one in flight.
  await t.store.pool.query(
    `INSERT INTO refract.effect_ledger (reactor, effect_key, position, attempts, done_at)
     VALUES ('notices', 'a', 1, 1, now()), ('notices', 'b', 2, 1, now()),
            ('notices', 'c', 3, 2, now()), ('notices', 'd', 4, 1, NULL)`,
  );
});

afterAll(async () => {
  await t?.close();
});

const inject = (method: 'GET' | 'POST', url: string, body?: object) =>
  t.admin.app.inject({ method, url, headers: auth, ...(body ? { payload: body } : {}) });

it("lists the reactor with its ledger's counts, and beside the projections with its lag", async () => {
  const reactors = await inject('GET', '/api/reactors');
  expect(reactors.statusCode, reactors.body).toBe(200);
  expect(reactors.json()).toEqual([
    { name: 'notices', pool: 'hooks', delivered: 3, exactlyOnce: 2, atLeastOnce: 1, pending: 1 },
    { name: 'picky', pool: 'picky', delivered: 0, exactlyOnce: 0, atLeastOnce: 0, pending: 0 },
  ]);
  // Registered at the head: nothing of the log before it is due. (The lag
  // sample is cached for a moment: the first listing after the registration is awaited.)
  await eventually(async () => {
    const listed = (await inject('GET', '/api/projections')).json() as ProjectionView[];
    expect(listed.find((p) => p.name === 'notices')).toMatchObject({
      pool: 'hooks',
      lagEvents: 0,
      reactor: { delivered: 3, exactlyOnce: 2, atLeastOnce: 1, pending: 1 },
    });
  });
});

it('replays a reactor from a position: its checkpoints move back; bad input is refused naming the field', async () => {
  const bad = await inject('POST', '/api/reactors/notices/replay', { from: -1 });
  expect(bad.statusCode).toBe(400);
  expect(bad.json(), bad.body).toMatchObject({ field: 'from' });
  const unknown = await inject('POST', '/api/reactors/nobody/replay', { from: 0 });
  expect(unknown.statusCode).toBe(404);
  expect(unknown.json()).toMatchObject({ error: 'projection_not_found', field: 'name' });
  const before = await t.store.pool.query(
    `SELECT partition, position FROM refract.projection_checkpoints WHERE projection = 'notices'`,
  );
  expect(before.rows.every((r) => Number(r.position) > 0)).toBe(true);

  const replayed = await inject('POST', '/api/reactors/notices/replay', { from: 0 });
  expect(replayed.statusCode, replayed.body).toBe(200);
  expect(replayed.json()).toEqual({ name: 'notices', from: 0, partitions: [0, 1, 2, 3] });
  const after = await t.store.pool.query(
    `SELECT position FROM refract.projection_checkpoints WHERE projection = 'notices'`,
  );
  expect(after.rows.map((r) => Number(r.position))).toEqual([0, 0, 0, 0]);
  await eventually(async () => {
    const lagging = (await inject('GET', '/api/projections')).json() as ProjectionView[];
    expect(lagging.find((p) => p.name === 'notices')?.lagEvents).toBe(8);
  });
});

it('refuses to rebuild a reactor with 409 reactor_not_rebuildable, and queues nothing', async () => {
  const refused = await inject('POST', '/api/projections/notices/rebuild');
  expect(refused.statusCode).toBe(409);
  expect(refused.json()).toMatchObject({ error: 'reactor_not_rebuildable', field: 'name' });
  const counts = await t.rebuild.queue.getJobCounts();
  expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
});

it("retries a reactor's parked events in stream order through its handler; effects the ledger holds are not repeated", async () => {
  // Registered at the head: it handles only the orders below.
  await registerReactor(t.store.pool, pickyReactor, t.store.partitions);
  const one = await t.store.append('picky-1', [
    { type: 'OrderShipped', data: { n: 1 } },
    { type: 'OrderShipped', data: { n: 2, bad: true } },
    { type: 'OrderShipped', data: { n: 3 } },
  ]);
  await t.store.append('picky-2', [
    { type: 'OrderShipped', data: { n: 4, bad: true } },
    { type: 'OrderShipped', data: { n: 5 } },
  ]);
  // The relay feeds the worker the log.
  const relay = new Relay({
    databaseUrl: t.db.url,
    redis: createRedisClient(t.ns.url),
    keyPrefix: t.ns.prefix,
  });
  const worker = new ProjectorWorker({
    databaseUrl: t.db.url,
    redisUrl: t.ns.url,
    keyPrefix: t.ns.prefix,
    pool: 'picky',
    projections: [],
    reactors: [pickyReactor],
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    logger,
  });
  type Parked = { id: number; position: number; resolution: string | null };
  const parked = async () =>
    ((await inject('GET', '/api/projections/picky/parked')).json() as Parked[]).filter(
      (p) => p.resolution === null,
    );
  try {
    relay.start();
    await worker.start();
    // Each refused order parked, the order behind it held in its stream.
    await eventually(async () => {
      expect((await parked()).map((p) => p.position).sort((a, b) => a - b)).toEqual(
        [2, 3, 4, 5].map((i) => one.lastPosition - 3 + i),
      );
    });
    expect(picky.calls).toEqual(['notice-1']);

    // Notice 3 went out before (an earlier attempt): the ledger holds it done.
    await t.store.pool.query(
      `INSERT INTO refract.effect_ledger (reactor, effect_key, position, attempts, done_at)
       VALUES ('picky', 'notice-3', $1, 1, now())`,
      [one.lastPosition],
    );
    picky.refusing = false;
    picky.seen = [];
    const head = (await parked()).find((p) => p.position === one.lastPosition - 1)!;
    const retried = await inject('POST', `/api/projections/picky/parked/${head.id}/retry`);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(picky.seen).toEqual([2, 3]);
    expect(picky.calls).toEqual(['notice-1', 'notice-2']);

    const all = await inject('POST', '/api/projections/picky/parked/retry');
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json()).toMatchObject({ streams: 1, applied: 2, failed: [] });
    expect(picky.seen).toEqual([2, 3, 4, 5]);
    expect(picky.calls).toEqual(['notice-1', 'notice-2', 'notice-4', 'notice-5']);
    expect(await parked()).toEqual([]);
    const ledger = await t.store.pool.query<{ effect_key: string }>(
      `SELECT effect_key FROM refract.effect_ledger
        WHERE reactor = 'picky' AND done_at IS NOT NULL ORDER BY effect_key`,
    );
    expect(ledger.rows.map((r) => r.effect_key)).toEqual([1, 2, 3, 4, 5].map((n) => `notice-${n}`));
  } finally {
    await worker.close();
    await relay.close();
  }
});

it('replays a reactor no worker has registered yet, and refuses a position past the head naming `from`', async () => {
  const late = defineReactor({
    name: 'late_hooks',
    pool: 'late',
    handlers: { OrderShipped: async () => {} },
  });
  const redis = createRedisClient(t.ns.url);
  const dashboardDir = await mkdtemp(join(tmpdir(), 'refract-dashboard-'));
  const app = await buildApp({
    store: t.store,
    redis,
    keyPrefix: t.ns.prefix,
    projections: [],
    reactors: [late],
    token: TOKEN,
    metricsRefreshMs: 3_600_000,
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    dashboardDir,
  });
  const replay = (from: number) =>
    app.app.inject({
      method: 'POST',
      url: '/api/reactors/late_hooks/replay',
      headers: auth,
      payload: { from },
    });
  const checkpoints = async () =>
    (
      await t.store.pool.query<{ position: number }>(
        `SELECT position FROM refract.projection_checkpoints WHERE projection = 'late_hooks'
          ORDER BY partition`,
      )
    ).rows.map((r) => Number(r.position));
  try {
    const head = await t.store.headPosition();
    const past = await replay(head + 1);
    expect(past.statusCode).toBe(400);
    expect(past.json()).toMatchObject({ field: 'from' });
    expect(past.json().message).toContain(`position ${head}`);
    expect(await checkpoints()).toEqual([]);

    const replayed = await replay(0);
    expect(replayed.statusCode, replayed.body).toBe(200);
    expect(replayed.json()).toEqual({ name: 'late_hooks', from: 0, partitions: [0, 1, 2, 3] });
    expect(await checkpoints()).toEqual([0, 0, 0, 0]);
    const atHead = await replay(head);
    expect(atHead.statusCode, atHead.body).toBe(200);
  } finally {
    await app.app.close();
    redis.disconnect();
    await rm(dashboardDir, { recursive: true, force: true });
  }
});
