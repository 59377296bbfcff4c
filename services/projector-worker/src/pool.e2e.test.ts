import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventStore, migrate } from '@refract/event-store';
import { expectedReadModels, generateWorkload, type WorkloadEvent } from '@refract/example-orders';
import { Relay } from '@refract/relay';
import type { RedisClient } from '@refract/stream-bus';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  eventually,
  freePort,
  ORDERS_APP_CONFIG,
  type RedisServer,
  startRedisServer,
  type TestDatabase,
} from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PARTITIONS = 16;
const LEASE_TTL_MS = 4000;

let db: TestDatabase;
let store: EventStore;
let server: RedisServer;
let redis: RedisClient;
let relay: Relay;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('worker_pool');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  server = await startRedisServer();
  redis = createRedisClient(server.url, { failFast: false });
  relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(server.url),
    windowSize: 2000,
  });
  relay.start();
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await relay?.close();
  redis?.disconnect();
  await store?.close();
  await server?.kill();
  await db?.drop();
});

interface Worker {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

async function startWorker(): Promise<Worker> {
  const port = await freePort();
  const args = [
    '--conditions=@refract/source',
    '--import',
    'tsx',
    MAIN,
    '--config',
    ORDERS_APP_CONFIG,
  ];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: db.url,
      REDIS_URL: server.url,
      POOL: 'orders',
      WORKER_PORT: String(port),
      WORKER_HOST: '127.0.0.1',
      WORKER_LEASE_TTL_MS: String(LEASE_TTL_MS),
      WORKER_HEARTBEAT_MS: '250',
      WORKER_BATCH_SIZE: '200',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  await eventually(
    async () => expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200),
    {
      timeoutMs: 30_000,
    },
  );
  return { child, port, exited };
}

async function partitionsOf(worker: Worker): Promise<number[]> {
  const status = (await (await fetch(`http://127.0.0.1:${worker.port}/readyz`)).json()) as {
    partitions?: number[];
  };
  return status.partitions ?? [];
}

/** Appends in generation order, one append in flight per stream, many streams at once. */
async function appendAll(events: WorkloadEvent[]): Promise<void> {
  const tails = new Map<string, Promise<unknown>>();
  const inFlight = new Set<Promise<unknown>>();
  for (const item of events) {
    const previous = tails.get(item.streamId) ?? Promise.resolve();
    const next = previous.then(() =>
      store.append(item.streamId, [item.event], {
        expectedVersion: item.version === 0 ? 'no_stream' : item.version - 1,
      }),
    );
    tails.set(item.streamId, next);
    inFlight.add(next);
    void next.finally(() => inFlight.delete(next));
    if (inFlight.size >= 64) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

async function expectTablesEqualFold(events: WorkloadEvent[]): Promise<void> {
  const want = expectedReadModels(events);
  const orders = await store.pool.query<{
    order_id: string;
    customer_id: string;
    status: string;
    item_count: number;
    total_cents: string;
  }>(
    'SELECT order_id, customer_id, status, item_count, total_cents FROM projections.order_summary',
  );
  expect(orders.rows.length).toBe(want.orders.size);
  for (const row of orders.rows) {
    const o = want.orders.get(row.order_id)!;
    expect([row.customer_id, row.status, row.item_count, Number(row.total_cents)]).toEqual([
      o.customerId,
      o.status,
      o.itemCount,
      o.totalCents,
    ]);
  }
  const customers = await store.pool.query<{
    customer_id: string;
    orders_placed: number;
    orders_shipped: number;
    orders_cancelled: number;
    lifetime_value_cents: string;
  }>('SELECT * FROM projections.customer_stats');
  expect(customers.rows.length).toBe(want.customers.size);
  for (const row of customers.rows) {
    const c = want.customers.get(row.customer_id)!;
    expect([
      row.orders_placed,
      row.orders_shipped,
      row.orders_cancelled,
      Number(row.lifetime_value_cents),
    ]).toEqual([c.ordersPlaced, c.ordersShipped, c.ordersCancelled, c.lifetimeValueCents]);
  }
}

async function caughtUp(): Promise<boolean> {
  const head = await store.headPosition();
  const behind = await store.pool.query(
    'SELECT 1 FROM refract.projection_checkpoints WHERE position < $1 LIMIT 1',
    [head],
  );
  return behind.rowCount === 0;
}

it('keeps both read models exact through SIGKILL, a joiner, SIGTERM, a zombie and FLUSHALL', async () => {
  const all = [...generateWorkload({ events: 24_000, seed: 7 })];
  await appendAll(all.slice(0, 20_000));

  const a = await startWorker();
  const b = await startWorker();
  await eventually(async () => {
    const [pa, pb] = await Promise.all([partitionsOf(a), partitionsOf(b)]);
    expect([...pa, ...pb].sort((x, y) => x - y)).toEqual([...Array(PARTITIONS).keys()]);
  });

  // SIGKILL in the middle of catch-up: b's partitions come back to a after the lease TTL.
  b.child.kill('SIGKILL');
  await b.exited;
  const c = await startWorker();
  const tail = appendAll(all.slice(20_000, 22_000));
  await eventually(async () => expect((await partitionsOf(c)).length).toBeGreaterThan(0), {
    timeoutMs: LEASE_TTL_MS * 3,
  });

  // A zombie: stopped past its lease, its partitions move; woken, it cannot commit twice.
  c.child.kill('SIGSTOP');
  await eventually(async () => expect(await partitionsOf(a)).toHaveLength(PARTITIONS), {
    timeoutMs: LEASE_TTL_MS * 4,
  });
  await redis.flushall();
  c.child.kill('SIGCONT');
  await tail;

  // SIGTERM hands partitions over at once (well before the lease TTL would).
  const d = await startWorker();
  await eventually(async () => expect((await partitionsOf(d)).length).toBeGreaterThan(0), {
    timeoutMs: LEASE_TTL_MS * 3,
  });
  const handedOver = Date.now();
  d.child.kill('SIGTERM');
  expect(await d.exited).toBe(0);
  await eventually(
    async () => {
      const owned = [...(await partitionsOf(a)), ...(await partitionsOf(c))];
      expect(owned.sort((x, y) => x - y)).toEqual([...Array(PARTITIONS).keys()]);
    },
    { timeoutMs: LEASE_TTL_MS * 3 },
  );
  expect(Date.now() - handedOver).toBeLessThan(LEASE_TTL_MS);

  await appendAll(all.slice(22_000));
  await eventually(async () => expect(await caughtUp()).toBe(true), { timeoutMs: 90_000 });
  await expectTablesEqualFold(all);
}, 240_000);
