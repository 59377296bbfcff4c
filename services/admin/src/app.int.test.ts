import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileErrors, validate } from '@readme/openapi-parser';
import { type AnyProjection, defineCounterProjection, defineProjection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { orderProjections } from '@refract/example-orders';
import { createLogger, createMetrics } from '@refract/observability';
import {
  LagMonitor,
  ProjectorWorker,
  registerCounterProjection,
  registerProjection,
} from '@refract/projector';
import {
  createRebuildQueue,
  type RebuildQueue,
  type RebuildWorker,
  startRebuildWorker,
} from '@refract/rebuild';
import { Relay } from '@refract/relay';
import { createRedisClient, type RedisClient, readCounters } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminApp, type AppOptions, buildApp } from './app.js';
import type { ProjectionView } from './overview.js';

const PARTITIONS = 4;
const TOKEN = 'test-token-0123456789abcdef';
const logger = createLogger({ service: 'admin-test', level: 'silent' });
const auth = { authorization: `Bearer ${TOKEN}` };
const READ_TOKEN = 'read-only-token-0123456789';
const readAuth = { authorization: `Bearer ${READ_TOKEN}` };

/** Applies `Slow` events, but only once the test opens the gate: a daemon that looks alive while stuck. */
let openGate: () => void = () => {};
let gate: Promise<void> = Promise.resolve();
const blocker = defineProjection({
  name: 'blocker',
  version: 1,
  pool: 'slow',
  handles: ['Slow'],
  tables: ['blocker'],
  setup: (table) => `CREATE TABLE IF NOT EXISTS ${table('blocker')} (position bigint PRIMARY KEY)`,
  async apply(event, ctx) {
    await gate;
    await ctx.sql.query(`INSERT INTO ${ctx.table('blocker')} VALUES ($1)`, [event.position]);
  },
});

/** Fails `Poison` events while `poisonFails`; counts each application, so a double apply shows. */
let poisonFails = true;
const picky = defineProjection({
  name: 'picky',
  version: 1,
  pool: 'slow',
  handles: ['Poison'],
  tables: ['picky'],
  setup: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table('picky')} (stream_id text PRIMARY KEY, applied int NOT NULL)`,
  async apply(event, ctx) {
    if (poisonFails) throw new Error(`poison at ${event.position}`);
    await ctx.sql.query(
      `INSERT INTO ${ctx.table('picky')} AS t VALUES ($1, 1)
       ON CONFLICT (stream_id) DO UPDATE SET applied = t.applied + 1`,
      [event.streamId],
    );
  },
  maxAttempts: 2,
  retryBackoffMs: 5,
});

/** A counter projection of the application: listed and rebuilt like the others. */
const tally = defineCounterProjection({
  name: 'tally',
  version: 1,
  pool: 'counters',
  handles: ['OrderPlaced'],
  increments: (events) => ({ placed: events.length }),
});

/** The application's projections, as startAdmin takes them from the module. */
const catalog: AnyProjection[] = [...orderProjections, blocker, picky, tally];

let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let redis: RedisClient;
let relay: Relay;
const workers: ProjectorWorker[] = [];
let admin: AdminApp;
let rebuild: RebuildQueue;
let rebuildWorker: RebuildWorker;
let dashboardDir: string;
let orderCount = 0;

function worker(pool: string, projections: AnyProjection[]) {
  return new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    pool,
    projections,
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    batchSize: 50,
    logger,
  });
}

function appOptions(overrides: Partial<AppOptions> & { dashboardDir: string }): AppOptions {
  return {
    store,
    redis,
    keyPrefix: ns.prefix,
    projections: catalog,
    token: TOKEN,
    readTokens: [READ_TOKEN],
    // No timer tick while tests run: its lag read, shared for 250 ms, would
    // hide projections the tests register right before they look.
    metricsRefreshMs: 3_600_000,
    logger,
    metrics: createMetrics({ defaultMetrics: false }),
    streamIntervalMs: 100,
    history: { intervalMs: 100, windowMs: 60_000 },
    rebuild,
    ...overrides,
  };
}

async function placeOrders(count: number) {
  await Promise.all(
    Array.from({ length: count }, () => {
      const id = String(++orderCount);
      return store.append(`order-${id}`, [
        {
          type: 'OrderPlaced',
          data: {
            orderId: id,
            customerId: `c-${orderCount % 3}`,
            placedAt: new Date().toISOString(),
          },
        },
      ]);
    }),
  );
}

/** Resolves once every running worker has heartbeaten twice after `since` (its flags were re-read). */
async function heartbeatsAfter(since: number) {
  let second = since;
  await eventually(() => {
    for (const w of workers)
      expect(w.status().lastHeartbeat?.getTime() ?? 0).toBeGreaterThan(since);
    second = Date.now();
  });
  await eventually(() => {
    for (const w of workers)
      expect(w.status().lastHeartbeat?.getTime() ?? 0).toBeGreaterThan(second);
  });
}

/** Jobs of the rebuild queue in any state: a refused rebuild must add none. */
async function rebuildQueueSize(): Promise<number> {
  const counts = await rebuild.queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function get<T>(url: string): Promise<T> {
  const response = await admin.app.inject({ method: 'GET', url, headers: auth });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as T;
}

async function projection(name: string): Promise<ProjectionView> {
  const all = await get<ProjectionView[]>('/api/projections');
  const found = all.find((p) => p.name === name);
  if (!found) throw new Error(`${name} not listed`);
  return found;
}

/** The last position of each partition and the event count after each checkpoint, straight from the log. */
async function logFacts(checkpoints: Map<number, number> = new Map()) {
  const rows = await store.pool.query<{ partition: number; last: string }>(
    'SELECT partition, max(position) AS last FROM refract.events GROUP BY partition',
  );
  const last = new Map(rows.rows.map((r) => [r.partition, Number(r.last)]));
  const behind = new Map<number, number>();
  for (let p = 0; p < PARTITIONS; p++) {
    const counted = await store.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM refract.events WHERE partition = $1 AND position > $2',
      [p, checkpoints.get(p) ?? 0],
    );
    behind.set(p, Number(counted.rows[0]!.n));
  }
  return { last, behind };
}

beforeAll(async () => {
  db = await createTestDatabase('admin');
  ns = createTestRedisNamespace('admin');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  redis = createRedisClient(ns.url);
  relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(ns.url),
    keyPrefix: ns.prefix,
  });
  relay.start();
  const jobs = {
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    store,
    projections: catalog,
    logger,
  };
  rebuild = createRebuildQueue({ ...jobs, cancelWaitMs: 10_000 });
  rebuildWorker = await startRebuildWorker(jobs);
  dashboardDir = await mkdtemp(join(tmpdir(), 'refract-dashboard-'));
  await writeFile(join(dashboardDir, 'index.html'), '<!doctype html><title>lag</title>');
  await writeFile(join(dashboardDir, 'app.js'), 'console.log("dashboard")');
  admin = await buildApp(appOptions({ stallThresholdMs: 500, dashboardDir }));
  await admin.app.ready();
});

afterAll(async () => {
  openGate();
  await admin?.app.close();
  await Promise.all(workers.map((w) => w.close()));
  await rebuildWorker?.close();
  await rebuild?.close();
  await relay?.close();
  redis?.disconnect();
  await store?.close();
  await ns?.cleanup();
  await db?.drop();
  if (dashboardDir) await rm(dashboardDir, { recursive: true, force: true });
});

describe('the contract', () => {
  it('serves a valid OpenAPI document of every API route at /openapi.json, without the token', async () => {
    const response = await admin.app.inject('/openapi.json');
    expect(response.statusCode).toBe(200);
    const document = response.json();
    const result = await validate(structuredClone(document));
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // Every route of ours but the dashboard's files and the document itself.
    const ours = admin.routes
      .filter(
        (r) => !r.url.startsWith('/jobs-board') && !['/', '/*', '/openapi.json'].includes(r.url),
      )
      .map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    expect(documented.sort()).toEqual(ours.sort());
  });
});

describe('auth', () => {
  const PUBLIC = [
    'GET /',
    'GET /*',
    'GET /healthz',
    'GET /metrics',
    'GET /openapi.json',
    'GET /readyz',
  ];
  /** A concrete URL for a route pattern. */
  const urlOf = (pattern: string) =>
    pattern
      .replace(':name', 'order_summary')
      .replace(':id', '1')
      .replace(':jobId', 'job-1')
      .replace(/:[A-Za-z]+/g, 'x')
      .replace('*', 'x');

  it('marks only the probes, metrics, the OpenAPI document and the dashboard public', () => {
    const open = admin.routes.filter((r) => r.public).map((r) => `${r.method} ${r.url}`);
    expect(open.sort()).toEqual(PUBLIC);
  });

  it('refuses every other route without the token (401) and with a wrong one (403)', async () => {
    const guarded = admin.routes.filter((r) => !r.public);
    expect(guarded.length).toBeGreaterThanOrEqual(9);
    const basic = (password: string) => `Basic ${Buffer.from(`x:${password}`).toString('base64')}`;
    for (const route of guarded) {
      const method = route.method as 'GET' | 'POST' | 'PUT' | 'DELETE';
      const url = urlOf(route.url);
      // bull-board's pages are for browsers: Basic auth, and 401 with a challenge so they ask again.
      const board = route.url.startsWith('/jobs-board');
      const missing = await admin.app.inject({ method, url });
      expect(missing.statusCode, `${method} ${url}`).toBe(401);
      expect(missing.json()).toMatchObject({ error: 'unauthorized' });
      for (const authorization of [
        `Bearer ${TOKEN}x`,
        `Bearer ${TOKEN.slice(1)}`,
        basic(`${TOKEN}x`),
      ]) {
        const wrong = await admin.app.inject({ method, url, headers: { authorization } });
        if (board) {
          expect(wrong.statusCode, `${method} ${url}`).toBe(401);
          expect(wrong.headers['www-authenticate']).toContain('Basic');
        } else {
          expect([401, 403], `${method} ${url}`).toContain(wrong.statusCode);
        }
      }
      const wrongBearer = await admin.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${TOKEN}x` },
      });
      if (!board) expect(wrongBearer.json()).toMatchObject({ error: 'forbidden' });
      if (!board) {
        // Basic auth is only for bull-board's pages.
        const notBearer = await admin.app.inject({
          method,
          url,
          headers: { authorization: basic(TOKEN) },
        });
        expect(notBearer.statusCode, `${method} ${url}`).toBe(401);
      }
    }
    // Nothing was paused by the refused requests.
    const paused = await store.pool.query('SELECT 1 FROM refract.projections WHERE paused');
    expect(paused.rowCount).toBe(0);
  });

  it('opens bull-board to Basic auth with the token as password', async () => {
    const page = await admin.app.inject({
      url: '/jobs-board',
      headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}` },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const refused = await admin.app.inject('/jobs-board');
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toContain('Basic realm');
  });

  it('lets a read token see the status and stream, and nothing that changes state (403)', async () => {
    for (const url of ['/api/projections', '/api/workers', '/api/relay']) {
      const seen = await admin.app.inject({ url, headers: readAuth });
      expect([200, 503], url).toContain(seen.statusCode);
    }
    const operatorRoutes = admin.routes.filter(
      (r) => !r.public && r.method !== 'GET' && !r.url.startsWith('/jobs-board'),
    );
    // Rebuild, cancel, pause, resume, retry and skip parked events.
    expect(operatorRoutes.length).toBeGreaterThanOrEqual(6);
    for (const route of operatorRoutes) {
      const method = route.method as 'POST' | 'DELETE';
      const url = urlOf(route.url);
      const refused = await admin.app.inject({ method, url, headers: readAuth });
      expect(refused.statusCode, `${method} ${url}`).toBe(403);
      expect(refused.json().message).toContain('operator token');
    }
    const rebuild = await admin.app.inject({
      method: 'POST',
      url: '/api/projections/order_summary/rebuild',
      headers: readAuth,
    });
    expect(rebuild.statusCode).toBe(403);
    expect(await rebuildQueueSize()).toBe(0);
    const paused = await store.pool.query('SELECT 1 FROM refract.projections WHERE paused');
    expect(paused.rowCount).toBe(0);
  });

  it("refuses bull-board's mutating routes across origins, even with the operator token", async () => {
    const mutating = admin.routes.filter(
      (r) => r.url.startsWith('/jobs-board') && r.method !== 'GET',
    );
    expect(mutating.length).toBeGreaterThan(0);
    const basic = `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`;
    for (const route of mutating) {
      const method = route.method as 'POST' | 'PUT' | 'DELETE';
      const url = urlOf(route.url);
      for (const origin of [
        { origin: 'https://evil.example' },
        { referer: 'http://evil.example/x' },
        {},
      ]) {
        const refused = await admin.app.inject({
          method,
          url,
          headers: { authorization: basic, host: 'admin.local:4002', ...origin },
        });
        expect(refused.statusCode, `${method} ${url} ${JSON.stringify(origin)}`).toBe(403);
        expect(refused.json().message).toContain('Origin');
      }
      const readOnly = await admin.app.inject({
        method,
        url,
        headers: {
          authorization: `Basic ${Buffer.from(`admin:${READ_TOKEN}`).toString('base64')}`,
          host: 'admin.local:4002',
          origin: 'http://admin.local:4002',
        },
      });
      expect(readOnly.statusCode, `${method} ${url}`).toBe(403);
    }
    // Same origin and the operator token: past the guard, bull-board answers for itself
    // (404: queue `x` does not exist; a route acting on every queue is not called for real).
    const harmless = mutating.find((r) => r.url.includes(':queueName'))!;
    const allowed = await admin.app.inject({
      method: harmless.method as 'POST' | 'PUT' | 'DELETE',
      url: urlOf(harmless.url),
      headers: {
        authorization: basic,
        host: 'admin.local:4002',
        origin: 'http://admin.local:4002',
      },
    });
    expect([401, 403]).not.toContain(allowed.statusCode);
  });

  it('serves the probes and the dashboard without the token', async () => {
    expect((await admin.app.inject('/healthz')).statusCode).toBe(200);
    expect((await admin.app.inject('/readyz')).statusCode).toBe(200);
    const page = await admin.app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('<title>lag</title>');
    const script = await admin.app.inject('/app.js');
    expect(script.body).toContain('dashboard');
    expect((await admin.app.inject('/../package.json')).statusCode).toBe(404);
  });
});

describe('projections, workers and the relay', () => {
  it('shows the lag of events no worker has applied, then the checkpoints once workers run', async () => {
    await placeOrders(120);
    for (const p of orderProjections) await registerProjection(store.pool, p, PARTITIONS);
    // Registered, nothing applied: every event is lag. The lag sample is
    // cached for a moment, so the first answer may predate the registration.
    const before = await eventually(() => projection('order_summary'));
    const facts = await logFacts();
    expect(before.lagEvents).toBe(120);
    expect(before.partitions.map((p) => p.lagEvents)).toEqual(
      before.partitions.map((p) => facts.behind.get(p.partition)),
    );
    expect(before.headPosition).toBe(Math.max(...facts.last.values()));
    expect(before.lagSeconds).toBeGreaterThan(0);
    expect(before.partitions.some((p) => p.lagEstimated)).toBe(false);
    // Past the count limit a partition's lag is extrapolated from the counted part, and says so.
    const capped = await new LagMonitor(store.pool, { countLimit: 5 }).sample();
    for (const p of capped.projections.find((x) => x.name === 'order_summary')!.partitions) {
      const actual = facts.behind.get(p.partition)!;
      expect(p.lagEstimated).toBe(actual > 5);
      expect(p.lagEvents).toBeGreaterThanOrEqual(5);
      expect(p.lagEvents).toBeLessThanOrEqual(4 * actual);
    }

    workers.push(worker('orders', [...orderProjections]), worker('orders', [...orderProjections]));
    await Promise.all(workers.map((w) => w.start()));
    for (const name of ['order_summary', 'customer_stats']) {
      await eventually(
        async () => {
          const view = await projection(name);
          const { last } = await logFacts();
          expect(view).toMatchObject({
            version: 1,
            pool: 'orders',
            status: 'running',
            lagEvents: 0,
            lagSeconds: 0,
            stalled: false,
            parked: 0,
            rebuild: null,
          });
          // A checkpoint may pass the partition's last event: runners advance to what the relay published.
          for (const p of view.partitions) {
            expect(p.checkpoint).toBeGreaterThanOrEqual(last.get(p.partition) ?? 0);
            expect(p.checkpoint).toBeLessThanOrEqual(view.headPosition);
          }
          expect(view.partitions.every((p) => workers.some((w) => w.id === p.owner))).toBe(true);
        },
        { timeoutMs: 20_000 },
      );
    }
  });

  it('lists the workers of each pool with the partitions they hold', async () => {
    await eventually(async () => {
      const listed =
        await get<{ id: string; pool: string; host: string; pid: number; partitions: number[] }[]>(
          '/api/workers',
        );
      const orders = listed.filter((w) => w.pool === 'orders');
      expect(orders.map((w) => w.id).sort()).toEqual(workers.map((w) => w.id).sort());
      expect(orders.every((w) => w.pid === process.pid && w.host.length > 0)).toBe(true);
      expect(orders.flatMap((w) => w.partitions).sort()).toEqual([0, 1, 2, 3]);
    });
  });

  it('shows the relay leader and how far it has published', async () => {
    await eventually(async () => {
      const state = await get<{
        leader: { application: string } | null;
        publishedPosition: number;
        headPosition: number;
        lagEvents: number;
        heldAt: unknown;
      }>('/api/relay');
      expect(state.leader?.application).toBe('refract-relay-main');
      expect(state.publishedPosition).toBe(state.headPosition);
      expect(state).toMatchObject({ lagEvents: 0, heldAt: null });
    });
  });

  it('shows the relay held by a gap while the transaction that drew it is open', async () => {
    const holder = await store.pool.connect();
    try {
      // What an append does before it inserts: take a transaction id, then draw a position.
      await holder.query('BEGIN');
      await holder.query('SELECT pg_current_xact_id()');
      const drawn = await holder.query<{ p: string }>(
        "SELECT nextval('refract.events_position_seq') AS p",
      );
      const gap = Number(drawn.rows[0]!.p);
      await placeOrders(1);
      const held = await eventually(async () => {
        const state = await get<{ heldAt: { position: number; sinceSeconds: number } | null }>(
          '/api/relay',
        );
        expect(state.heldAt?.position).toBe(gap);
        return state;
      });
      expect(held.heldAt!.sinceSeconds).toBeGreaterThanOrEqual(0);
      const scrape = await admin.app.inject('/metrics');
      expect(scrape.body).toMatch(/refract_relay_held_seconds\{relay="main"\} [0-9.]+/);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    // A rolled-back gap is final once its transaction ended: the relay goes on.
    await eventually(async () =>
      expect(await get('/api/relay')).toMatchObject({ heldAt: null, lagEvents: 0 }),
    );
  });

  it('pauses a projection: its checkpoints stop while the other goes on; resume catches up', async () => {
    await eventually(async () => expect((await projection('order_summary')).lagEvents).toBe(0));
    const paused = await admin.app.inject({
      method: 'POST',
      url: '/api/projections/order_summary/pause',
      headers: auth,
    });
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ name: 'order_summary', paused: true });
    // Workers read the flag at each heartbeat; two of them after the pause mean it was read.
    await heartbeatsAfter(Date.now());
    const stopped = (await projection('order_summary')).partitions.map((p) => p.checkpoint);
    await placeOrders(40);
    // In one sample of the lag (it is cached for a moment, so the first may
    // predate the orders): the other projection of the pool has the new
    // orders, so the workers read them and would have applied them to
    // order_summary in the same batch, which is behind by at least those.
    const still = await eventually(async () => {
      const all = await get<ProjectionView[]>('/api/projections');
      expect(all.find((p) => p.name === 'customer_stats')?.lagEvents).toBe(0);
      const summary = all.find((p) => p.name === 'order_summary')!;
      expect(summary.lagEvents).toBeGreaterThanOrEqual(40);
      return summary;
    });
    expect(still.status).toBe('paused');
    expect(still.partitions.map((p) => p.checkpoint)).toEqual(stopped);
    const { behind } = await logFacts(
      new Map(still.partitions.map((p) => [p.partition, p.checkpoint])),
    );
    expect(still.lagEvents).toBe([...behind.values()].reduce((a, b) => a + b, 0));
    expect(still.lagEvents).toBeGreaterThanOrEqual(40);
    expect(still.stalled).toBe(false);

    const resumed = await admin.app.inject({
      method: 'POST',
      url: '/api/projections/order_summary/resume',
      headers: auth,
    });
    expect(resumed.json()).toMatchObject({ paused: false });
    await eventually(async () =>
      expect(await projection('order_summary')).toMatchObject({ status: 'running', lagEvents: 0 }),
    );
  });

  it('exposes lag per projection and partition on /metrics', async () => {
    // The gauges are refreshed on a timer (an hour here): refresh them by hand after the catch-up.
    const scrape = await eventually(async () => {
      await admin.metricsCache.refresh();
      const answer = await admin.app.inject('/metrics');
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toContain(
        'refract_projection_lag_events{projection="order_summary",pool="orders"} 0',
      );
      expect(answer.body).toContain('refract_pool_workers{pool="orders"} 2');
      return answer;
    });
    expect(scrape.body).toMatch(
      /refract_projection_checkpoint_position\{projection="order_summary",partition="0"\} \d+/,
    );
    expect(scrape.body).toContain(
      'refract_projection_status{projection="order_summary",pool="orders",status="running"} 1',
    );
    expect(scrape.body).toContain('refract_pool_workers{pool="orders"} 2');
  });
});

describe('a stalled projection', () => {
  it('is flagged once it has work and its checkpoint has not moved for the threshold', async () => {
    gate = new Promise((resolve) => {
      openGate = resolve;
    });
    const slow = worker('slow', [blocker, picky]);
    workers.push(slow);
    await slow.start();
    // Caught up first, so the blocked batch holds the Slow event alone.
    await eventually(async () => expect((await projection('blocker')).lagEvents).toBe(0), {
      timeoutMs: 20_000,
    });
    await store.append('slow-1', [{ type: 'Slow', data: {} }]);
    const flagged = await eventually(async () => {
      const view = await projection('blocker');
      expect(view.stalled).toBe(true);
      return view;
    });
    expect(flagged.status).toBe('running');
    expect(flagged.stalledSeconds).toBeGreaterThanOrEqual(0.5);
    expect(flagged.lagEvents).toBe(1);
    // Caught-up projections are never stalled, however long they sit still.
    expect((await projection('order_summary')).stalled).toBe(false);
    await admin.metricsCache.refresh();
    const scrape = await admin.app.inject('/metrics');
    expect(scrape.body).toContain('refract_projection_stalled{projection="blocker",pool="slow"} 1');

    openGate();
    await eventually(async () =>
      expect(await projection('blocker')).toMatchObject({ stalled: false, lagEvents: 0 }),
    );
  });
});

describe('parked events', () => {
  async function picked(): Promise<number> {
    const rows = await store.pool.query<{ applied: number }>(
      'SELECT applied FROM projections.picky WHERE stream_id = $1',
      ['poison-1'],
    );
    return rows.rows[0]?.applied ?? 0;
  }

  async function parkOne(): Promise<number> {
    const appended = await store.append('poison-1', [{ type: 'Poison', data: {} }]);
    return eventually(async () => {
      const parked = await get<{ id: number; position: number; error: string; resolution: null }[]>(
        '/api/projections/picky/parked',
      );
      const mine = parked.find((p) => p.position === appended.lastPosition);
      expect(mine?.error).toContain('poison at');
      return mine!.id;
    });
  }

  it('retries a parked event: applied once, and a second retry is refused', async () => {
    poisonFails = true;
    const id = await parkOne();
    expect((await projection('picky')).parked).toBe(1);
    poisonFails = false;
    const url = `/api/projections/picky/parked/${id}/retry`;
    const retried = await admin.app.inject({ method: 'POST', url, headers: auth });
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ id, resolution: 'retried' });
    expect(await picked()).toBe(1);
    const again = await admin.app.inject({ method: 'POST', url, headers: auth });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'already_resolved' });
    expect(await picked()).toBe(1);
    expect((await projection('picky')).parked).toBe(0);
  });

  it('skips a parked event: resolved without applying, the checkpoint already past it', async () => {
    poisonFails = true;
    const id = await parkOne();
    const skipped = await admin.app.inject({
      method: 'POST',
      url: `/api/projections/picky/parked/${id}/skip`,
      headers: auth,
    });
    expect(skipped.statusCode, skipped.body).toBe(200);
    expect(skipped.json()).toMatchObject({ id, resolution: 'skipped' });
    poisonFails = false;
    expect(await picked()).toBe(1);
    // The lag sample may be a quarter of a second old; the parked count is read live.
    await eventually(async () =>
      expect(await projection('picky')).toMatchObject({ parked: 0, lagEvents: 0 }),
    );
  });
});

describe('a tripped projection', () => {
  const post = (url: string, payload?: unknown) =>
    admin.app.inject({ method: 'POST', url, headers: auth, ...(payload ? { payload } : {}) });

  it('shows the trip with its top errors and quarantined streams; streams page, skip and resume through the API', async () => {
    poisonFails = true;
    process.env.REFRACT_TRIP_AFTER_PARKED = '3';
    try {
      for (const stream of ['trip-a', 'trip-b', 'trip-c', 'trip-d']) {
        await store.append(stream, [
          { type: 'Poison', data: {} },
          { type: 'Poison', data: {} },
        ]);
      }
      const view = await eventually(
        async () => {
          const p = await projection('picky');
          expect(p.status).toBe('tripped');
          return p;
        },
        { timeoutMs: 20_000 },
      );
      expect(view.tripped).toMatchObject({ reason: 'more than 3 events parked' });
      expect(view.quarantinedStreams).toBeGreaterThanOrEqual(2);
      expect(view.topErrors.length).toBeGreaterThan(0);
      expect(view.topErrors[0]!.message).toMatch(/^poison at \d+$/);
      // The gauges are cached (refreshed on an hour's timer here): refresh by hand after the trip.
      await admin.metricsCache.refresh();
      const scrape = await admin.app.inject('/metrics');
      expect(scrape.body).toContain('refract_projection_tripped{projection="picky",pool="slow"} 1');

      const first = await get<{ streams: { streamId: string }[]; next: string | null }>(
        '/api/projections/picky/parked/streams?limit=1',
      );
      expect(first.streams).toHaveLength(1);
      expect(first.next).toBe(first.streams[0]!.streamId);
      const second = await get<{ streams: { streamId: string }[] }>(
        `/api/projections/picky/parked/streams?limit=1&after=${encodeURIComponent(first.next!)}`,
      );
      expect(second.streams[0]!.streamId > first.next!).toBe(true);

      poisonFails = false;
      // The skipped head's stream is released: the Poison behind it is applied.
      const skipped = await post('/api/projections/picky/parked/skip', {
        streamId: first.next,
      });
      expect(skipped.statusCode, skipped.body).toBe(200);
      expect(skipped.json()).toMatchObject({ resolution: 'skipped', streamId: first.next });
      const unknown = await post('/api/projections/picky/parked/skip', { streamId: 'nope' });
      expect(unknown.statusCode).toBe(404);
      const resumed = await post('/api/projections/picky/resume');
      expect(resumed.statusCode, resumed.body).toBe(200);
      expect(resumed.json()).toMatchObject({ paused: false, retried: { failed: [] } });
      await eventually(async () =>
        expect(await projection('picky')).toMatchObject({
          status: 'running',
          tripped: null,
          quarantinedStreams: 0,
          parked: 0,
        }),
      );
    } finally {
      delete process.env.REFRACT_TRIP_AFTER_PARKED;
    }
  });
});

describe('rebuilds', () => {
  type Job = { jobId: string; projection: string; state: string; processed: number; total: number };
  const post = (url: string) => admin.app.inject({ method: 'POST', url, headers: auth });

  it('runs a rebuild to completion: 202, progress, the new version live', async () => {
    const started = await post('/api/projections/customer_stats/rebuild');
    expect(started.statusCode, started.body).toBe(202);
    const { jobId } = started.json() as { jobId: string };
    const done = await eventually(
      async () => {
        const job = await get<Job>(`/api/jobs/${jobId}`);
        expect(job.state).toBe('completed');
        return job;
      },
      { timeoutMs: 30_000 },
    );
    expect(done).toMatchObject({ jobId, projection: 'customer_stats' });
    // Verified before the swap: same code, same rows.
    expect(done).toMatchObject({ cutoverReport: { verdict: 'identical' }, approved: false });
    expect(done.processed).toBeGreaterThan(0);
    expect(done.processed).toBe(done.total);
    await eventually(async () =>
      expect(await projection('customer_stats')).toMatchObject({
        version: 2,
        status: 'running',
        rebuild: null,
      }),
    );
  });

  it('refuses a second rebuild while one runs (409 with its jobId), and cancels it', async () => {
    gate = new Promise((resolve) => {
      openGate = resolve;
    });
    const started = await post('/api/projections/blocker/rebuild');
    expect(started.statusCode, started.body).toBe(202);
    const { jobId } = started.json() as { jobId: string };
    const second = await post('/api/projections/blocker/rebuild');
    expect(second.statusCode).toBe(409);
    expect(second.json()).toMatchObject({ error: 'rebuild_running', jobId });
    const shown = await eventually(async () => {
      const view = await projection('blocker');
      expect(view.status).toBe('rebuilding');
      return view;
    });
    expect(shown.rebuild).toMatchObject({ jobId });
    expect(shown.version).toBe(1);

    const cancelling = admin.app.inject({
      method: 'DELETE',
      url: `/api/jobs/${jobId}`,
      headers: auth,
    });
    // The replay is blocked in the handler; it stops at its next batch once
    // let go, which it must find the cancel flag raised for.
    await eventually(async () => {
      const flag = await store.pool.query<{ cancel_requested: boolean }>(
        'SELECT cancel_requested FROM refract.rebuilds WHERE job_id = $1',
        [jobId],
      );
      expect(flag.rows[0]?.cancel_requested).toBe(true);
    });
    openGate();
    const cancelled = await cancelling;
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    await eventually(async () =>
      expect((await get<Job>(`/api/jobs/${jobId}`)).state).toBe('cancelled'),
    );
    expect(await projection('blocker')).toMatchObject({
      version: 1,
      status: 'running',
      rebuild: null,
    });
    const scrape = await admin.app.inject('/metrics');
    expect(scrape.body).toMatch(/refract_rebuild_queue_jobs\{state="completed"\} \d+/);
  });

  it('lists the latest rebuilds, newest first, with their outcome and duration', async () => {
    type Listed = Job & { createdAt: string; startedAt?: string; finishedAt?: string };
    const listed = await get<Listed[]>('/api/rebuilds');
    // The two above: the cancelled one last, so first here.
    expect(listed.map((r) => [r.projection, r.state])).toEqual([
      ['blocker', 'cancelled'],
      ['customer_stats', 'completed'],
    ]);
    const completed = listed[1]!;
    expect(Date.parse(completed.finishedAt!)).toBeGreaterThanOrEqual(
      Date.parse(completed.startedAt!),
    );
    expect(await get<Listed[]>('/api/rebuilds?limit=1')).toHaveLength(1);
    for (const limit of ['0', '101', 'x']) {
      const bad = await admin.app.inject({
        method: 'GET',
        url: `/api/rebuilds?limit=${limit}`,
        headers: auth,
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ error: 'invalid_request', field: 'limit' });
    }
  });

  it('answers bad and unknown job ids with 4xx naming the field', async () => {
    for (const method of ['GET', 'DELETE'] as const) {
      const bad = await admin.app.inject({ method, url: '/api/jobs/not%20a%20job', headers: auth });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ error: 'invalid_request', field: 'jobId' });
      const unknown = await admin.app.inject({
        method,
        url: '/api/jobs/no-such-job',
        headers: auth,
      });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json()).toMatchObject({ error: 'job_not_found', field: 'jobId' });
    }
    const nope = await post('/api/projections/nope/rebuild');
    expect(nope.statusCode).toBe(404);
    expect(nope.json()).toMatchObject({ error: 'projection_not_found', field: 'name' });

    // approve: only a rebuild held in verifying; the 4xx names the field.
    const approve = (id: string) =>
      admin.app.inject({ method: 'POST', url: `/api/jobs/${id}/approve`, headers: auth });
    expect((await approve('not%20a%20job')).json()).toMatchObject({ field: 'jobId' });
    const unknown = await approve('no-such-job');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'job_not_found', field: 'jobId' });
    const [completed] = (await get<Job[]>('/api/rebuilds')).filter((j) => j.state === 'completed');
    const late = await approve(completed!.jobId);
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({
      error: 'rebuild_not_verifying',
      field: 'jobId',
      state: 'completed',
    });
    const before = await rebuildQueueSize();
    for (const expectChanges of ['all', ['Bad Column'], 7]) {
      const bad = await admin.app.inject({
        method: 'POST',
        url: '/api/projections/customer_stats/rebuild',
        headers: auth,
        payload: { expectChanges },
      });
      expect(bad.statusCode, JSON.stringify(expectChanges)).toBe(400);
      // The field, or the element of it (`expectChanges.0`).
      expect(bad.json()).toMatchObject({
        error: 'invalid_request',
        field: expect.stringMatching(/^expectChanges/),
      });
    }
    expect(await rebuildQueueSize()).toBe(before);
  });
});

describe('/api/history', () => {
  it('keeps samples of every projection from before the request, oldest first', async () => {
    type History = {
      now: number;
      intervalMs: number;
      samples: { at: number; projections: { name: string; lagEvents: number; parked: number }[] }[];
    };
    // Registered (again: idempotent) so this test stands alone.
    for (const p of orderProjections) await registerProjection(store.pool, p, PARTITIONS);
    const history = await eventually(async () => {
      const body = await get<History>('/api/history');
      expect(body.samples.length).toBeGreaterThanOrEqual(3);
      const latest = body.samples.at(-1)!.projections.map((p) => p.name);
      expect(latest).toEqual(expect.arrayContaining(['customer_stats', 'order_summary']));
      return body;
    });
    expect(history.intervalMs).toBe(100);
    const times = history.samples.map((s) => s.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)!).toBeLessThanOrEqual(history.now);
    // Only the application's projections, as /api/projections shows them.
    const known = new Set(catalog.map((p) => p.name));
    for (const sample of history.samples) {
      for (const p of sample.projections) expect(known.has(p.name)).toBe(true);
    }
    expect(history.samples.at(-1)!.projections[0]).toEqual({
      name: expect.any(String),
      lagEvents: expect.any(Number),
      lagSeconds: expect.any(Number),
      eventsPerSecond: expect.any(Number),
      parked: expect.any(Number),
    });
  });
});

describe('bad input', () => {
  const post = (url: string) => admin.app.inject({ method: 'POST', url, headers: auth });

  it('names the field and changes nothing', async () => {
    const cases: [Promise<{ statusCode: number; json(): unknown }>, number, object][] = [
      [post('/api/projections/Bad-Name/pause'), 400, { error: 'invalid_request', field: 'name' }],
      [post('/api/projections/nope/pause'), 404, { error: 'projection_not_found', field: 'name' }],
      [post('/api/projections/nope/resume'), 404, { error: 'projection_not_found' }],
      [
        admin.app.inject({ url: '/api/projections/nope/parked', headers: auth }),
        404,
        { error: 'projection_not_found' },
      ],
      [post('/api/projections/picky/parked/abc/retry'), 400, { field: 'id' }],
      [post('/api/projections/picky/parked/0/skip'), 400, { field: 'id' }],
      [post('/api/projections/picky/parked/99999999999999999999/skip'), 400, { field: 'id' }],
      [
        post('/api/projections/picky/parked/424242/retry'),
        404,
        { error: 'parked_event_not_found' },
      ],
      [post('/api/projections/picky/parked/424242/skip'), 404, { error: 'parked_event_not_found' }],
    ];
    for (const [answer, status, body] of cases) {
      const response = await answer;
      expect(response.statusCode).toBe(status);
      expect(response.json()).toMatchObject(body);
    }
    const registry = await store.pool.query<{ name: string; paused: boolean }>(
      'SELECT name, paused FROM refract.projections ORDER BY name',
    );
    expect(registry.rows.map((r) => r.name)).toEqual([
      'blocker',
      'customer_stats',
      'order_summary',
      'picky',
    ]);
    expect(registry.rows.some((r) => r.paused)).toBe(false);
  });
});

describe("the application's projections", () => {
  const post = (url: string) => admin.app.inject({ method: 'POST', url, headers: auth });
  /** Registered by another application sharing the database, or by an older version of this one. */
  const stranger = defineProjection({
    name: 'stranger',
    version: 1,
    pool: 'elsewhere',
    handles: ['OrderPlaced'],
    tables: ['stranger'],
    setup: (table) => `CREATE TABLE IF NOT EXISTS ${table('stranger')} (n int)`,
    apply: async () => {},
  });

  it('are listed, counters included, and nothing else the registry holds', async () => {
    await registerProjection(store.pool, stranger, PARTITIONS);
    await registerCounterProjection(store.pool, tally);
    const registered = await store.pool.query<{ name: string }>(
      'SELECT name FROM refract.projections ORDER BY name',
    );
    expect(registered.rows.map((r) => r.name)).toContain('stranger');
    // The overview reuses a sample for 250 ms: wait for one taken after the registrations.
    const listed = await eventually(async () => {
      const views = await get<ProjectionView[]>('/api/projections');
      expect(views.map((p) => p.name).sort()).toEqual([
        'blocker',
        'customer_stats',
        'order_summary',
        'picky',
        'tally',
      ]);
      return views;
    });
    expect(listed.find((p) => p.name === 'tally')).toMatchObject({ pool: 'counters' });
    const workers = await get<{ pool: string }[]>('/api/workers');
    expect(workers.map((w) => w.pool)).not.toContain('elsewhere');
  });

  it('a counter projection is rebuilt like a table one: 202, completed, v2 live and equal to the log', async () => {
    const started = await post('/api/projections/tally/rebuild');
    expect(started.statusCode, started.body).toBe(202);
    const { jobId } = started.json() as { jobId: string };
    const done = await eventually(
      async () => {
        const job = await get<{ state: string; projection: string; processed: number }>(
          `/api/jobs/${jobId}`,
        );
        expect(job.state).toBe('completed');
        return job;
      },
      { timeoutMs: 30_000 },
    );
    expect(done.projection).toBe('tally');
    const live = await store.pool.query<{ live_version: number }>(
      "SELECT live_version FROM refract.projections WHERE name = 'tally'",
    );
    expect(live.rows[0]!.live_version).toBe(2);
    // Every order of the earlier tests is published by now: the replay saw them all.
    const placed = await store.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM refract.events WHERE type = 'OrderPlaced'",
    );
    expect(placed.rows[0]!.n).toBeGreaterThan(0);
    expect(done.processed).toBe(placed.rows[0]!.n);
    expect(await readCounters(redis, ns.prefix, 'tally', 2, PARTITIONS)).toEqual({
      placed: placed.rows[0]!.n,
    });
  });

  it('a registered projection the application does not declare cannot be rebuilt', async () => {
    const refused = await post('/api/projections/stranger/rebuild');
    expect(refused.statusCode).toBe(404);
    expect(refused.json()).toMatchObject({ error: 'projection_not_found', field: 'name' });
    expect(await rebuild.current('stranger')).toBeNull();
  });
});

describe('/api/stream', () => {
  it('sends payloads over a real connection, and ends them when the server closes', async () => {
    const served = await buildApp(appOptions({ dashboardDir: join(dashboardDir, 'missing') }));
    await served.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = served.app.server.address() as { port: number };
    try {
      const refused = await fetch(`http://127.0.0.1:${port}/api/stream`);
      expect(refused.status).toBe(401);
      const placeholder = await fetch(`http://127.0.0.1:${port}/`);
      expect(await placeholder.text()).toContain('dashboard is not built');

      const response = await fetch(`http://127.0.0.1:${port}/api/stream`, { headers: auth });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      const payloads = () => text.split('event: projections\ndata: ').length - 1;
      while (payloads() < 2) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended early: ${text.slice(0, 200)}`);
        text += value;
      }
      const first = text.split('event: projections\ndata: ')[1]!.split('\n')[0]!;
      expect((JSON.parse(first) as ProjectionView[]).map((p) => p.name)).toContain('order_summary');
      expect(text).toContain('event: workers\ndata: ');
      expect(text).toContain('event: relay\ndata: ');
      expect(served.stream.clientCount).toBe(1);

      await served.app.close();
      for (;;) {
        const { done } = await reader.read();
        if (done) break;
      }
      expect(served.stream.clientCount).toBe(0);
    } finally {
      await served.app.close();
    }
  });
});

describe('/api/stream per-token cap', () => {
  it('answers the 11th stream of one token 429, while other tokens still get theirs', async () => {
    const served = await buildApp(appOptions({ dashboardDir: join(dashboardDir, 'missing') }));
    await served.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = served.app.server.address() as { port: number };
    const url = `http://127.0.0.1:${port}/api/stream`;
    const aborts: AbortController[] = [];
    const open = async (headers: Record<string, string>) => {
      const abort = new AbortController();
      aborts.push(abort);
      return fetch(url, { headers, signal: abort.signal });
    };
    try {
      for (let i = 0; i < 10; i++) expect((await open(readAuth)).status).toBe(200);
      expect(served.stream.clientCount).toBe(10);
      const eleventh = await open(readAuth);
      expect(eleventh.status).toBe(429);
      expect(await eleventh.json()).toMatchObject({ error: 'too_many_streams' });
      expect(served.stream.clientCount).toBe(10);
      // The cap is per token: the operator's stream is not the read token's.
      expect((await open(auth)).status).toBe(200);
      // One closed, one more may open.
      aborts[0]!.abort();
      await eventually(() => expect(served.stream.clientCount).toBe(10));
      expect((await open(readAuth)).status).toBe(200);
    } finally {
      for (const abort of aborts) abort.abort();
      await served.app.close();
    }
  });
});

describe('/metrics from a cache', () => {
  /** An admin app on a store and Redis client of its own, whose every query and command is counted. */
  async function counted(options: { projections: AnyProjection[] }) {
    const own = await EventStore.open({ databaseUrl: db.url });
    const ownRedis = createRedisClient(ns.url);
    const counts = { postgres: 0, redis: 0 };
    own.pool.on('acquire', () => {
      counts.postgres += 1;
    });
    // Counted on the way through; every command still goes to the real server.
    type Send = (...args: unknown[]) => unknown;
    const counting = ownRedis as unknown as { sendCommand: Send };
    const send = counting.sendCommand.bind(ownRedis);
    counting.sendCommand = (...args) => {
      counts.redis += 1;
      return send(...args);
    };
    const served = await buildApp({
      ...appOptions({ dashboardDir: join(dashboardDir, 'missing') }),
      store: own,
      redis: ownRedis,
      projections: options.projections,
      rebuild: undefined,
      // No timer tick during the test: what a scrape costs is all that is counted.
      metricsRefreshMs: 3_600_000,
    });
    await served.app.ready();
    return {
      served,
      counts,
      scrape: async () => {
        const answer = await served.app.inject('/metrics');
        expect(answer.statusCode).toBe(200);
        return answer.body;
      },
      close: async () => {
        await served.app.close();
        ownRedis.disconnect();
        await own.close();
      },
    };
  }

  it('answers any number of scrapes without a query to Postgres or Redis', async () => {
    const { scrape, counts, close } = await counted({ projections: catalog });
    try {
      // The signal that the refresh has run: the first scrape shows every projection.
      const first = await scrape();
      for (const p of catalog)
        expect(first).toContain(`refract_projection_lag_events{projection="${p.name}"`);
      const before = { ...counts };
      expect(before.postgres).toBeGreaterThan(0);
      // The request counters move with each scrape; the gauges read from the stores must not.
      const gauges = (body: string) =>
        body.split('\n').filter((line) => /^refract_(projection|pool|relay|worker)/.test(line));
      for (let i = 0; i < 50; i++) expect(gauges(await scrape())).toEqual(gauges(first));
      expect(counts).toEqual(before);
    } finally {
      await close();
    }
  });

  it('does not hide a projection registered after the first refresh', async () => {
    const late = defineProjection({
      name: 'late_comer',
      version: 1,
      pool: 'late',
      handles: ['Never'],
      tables: ['late_comer'],
      setup: (table) => `CREATE TABLE IF NOT EXISTS ${table('late_comer')} (id text PRIMARY KEY)`,
      apply: async () => {},
    });
    const { scrape, close } = await counted({ projections: [...catalog, late] });
    try {
      expect(await scrape()).not.toContain('late_comer');
      await registerProjection(store.pool, late, PARTITIONS);
      await eventually(async () =>
        expect(await scrape()).toMatch(
          /refract_projection_lag_events\{projection="late_comer",pool="late"\} \d+/,
        ),
      );
    } finally {
      await close();
    }
  });
});
