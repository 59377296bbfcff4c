import { join } from 'node:path';
import { migrate } from '@refract/event-store';
import { expectedReadModels, generateWorkload, type WorkloadEvent } from '@refract/example-orders';
import {
  counterCheckpoint,
  createRedisClient,
  type RedisClient,
  readCounters,
} from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
  type ServiceProcess,
  serviceMain,
  startServiceProcess,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type BankWorkloadEvent, generateBankWorkload } from './bank-workload.js';
import { expectedBankReadModels } from './expected-bank-read-models.js';

/** Both example domains in one application: pools `orders` and `bank`. */
const EXAMPLES_CONFIG = join(REPO_ROOT, 'examples', 'refract.config.ts');
const PARTITIONS = 8;
const LEASE_TTL_MS = 3000;
const EVENTS_PER_DOMAIN = 2500;
const TOKEN = 'two-domains-admin-token-0123456789';

interface Appendable {
  streamId: string;
  version: number;
  event: { id: string; type: string; data: object };
}

/** The two workloads, one event of each in turn: the log interleaves the domains. */
const orders = [...generateWorkload({ events: EVENTS_PER_DOMAIN, seed: 41 })];
const bank = [...generateBankWorkload({ events: EVENTS_PER_DOMAIN, seed: 43 })];
const all: Appendable[] = orders.flatMap((order, i) => [order, bank[i]!]);

let db: TestDatabase;
let ns: TestRedisNamespace;
let pool: pg.Pool;
let redis: RedisClient;
let writeApi: string;
let admin: string;
const services: ServiceProcess[] = [];

interface Worker {
  service: ServiceProcess;
  url: string;
}

let workers: { orders: Worker[]; bank: Worker[] };

beforeAll(async () => {
  db = await createTestDatabase('two_domains');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  ns = createTestRedisNamespace('two-domains');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  redis = createRedisClient(ns.url, { failFast: false });
  const shared = {
    DATABASE_URL: db.url,
    REDIS_URL: ns.url,
    REDIS_KEY_PREFIX: ns.prefix,
    REFRACT_CONFIG: EXAMPLES_CONFIG,
  };
  const writePort = await freePort();
  writeApi = `http://127.0.0.1:${writePort}`;
  services.push(
    await startServiceProcess(
      serviceMain('write-api'),
      { ...shared, WRITE_API_PORT: String(writePort), WRITE_API_HOST: '127.0.0.1' },
      `${writeApi}/readyz`,
    ),
  );
  const adminPort = await freePort();
  admin = `http://127.0.0.1:${adminPort}`;
  services.push(
    await startServiceProcess(
      serviceMain('admin'),
      {
        ...shared,
        ADMIN_PORT: String(adminPort),
        ADMIN_HOST: '127.0.0.1',
        ADMIN_TOKEN: TOKEN,
        ADMIN_REBUILD_WORKER: 'true',
      },
      `${admin}/readyz`,
    ),
  );
  async function startWorker(poolName: string): Promise<Worker> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const service = await startServiceProcess(
      serviceMain('projector-worker'),
      {
        ...shared,
        POOL: poolName,
        WORKER_PORT: String(port),
        WORKER_HOST: '127.0.0.1',
        WORKER_LEASE_TTL_MS: String(LEASE_TTL_MS),
        WORKER_HEARTBEAT_MS: '250',
        WORKER_BATCH_SIZE: '200',
      },
      `${url}/readyz`,
    );
    services.push(service);
    return { service, url };
  }
  workers = {
    orders: [await startWorker('orders'), await startWorker('orders')],
    bank: [await startWorker('bank'), await startWorker('bank')],
  };
}, 120_000);

afterAll(async () => {
  for (const service of services) {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
  await Promise.all(services.map((service) => service.exited));
  redis?.disconnect();
  await pool?.end();
  await ns?.cleanup();
  await db?.drop();
});

async function partitionsOf(worker: Worker): Promise<number[]> {
  const response = await fetch(`${worker.url}/readyz`);
  const status = (await response.json()) as { partitions?: number[] };
  return status.partitions ?? [];
}

async function everyPartitionOwnedBy(group: readonly Worker[]): Promise<void> {
  const owned = (await Promise.all(group.map(partitionsOf))).flat().sort((a, b) => a - b);
  expect(owned).toEqual([...Array(PARTITIONS).keys()]);
}

/** Raw appends through the write API, in the order given: one in flight per stream, many streams at once. */
async function appendAll(events: readonly Appendable[]): Promise<void> {
  const tails = new Map<string, Promise<unknown>>();
  const inFlight = new Set<Promise<unknown>>();
  for (const { streamId, version, event } of events) {
    const next = (tails.get(streamId) ?? Promise.resolve()).then(async () => {
      const response = await fetch(`${writeApi}/streams/${encodeURIComponent(streamId)}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          expectedVersion: version === 0 ? 'no_stream' : version - 1,
          events: [event],
        }),
      });
      if (response.status !== 201) {
        throw new Error(
          `append to ${streamId} answered ${response.status}: ${await response.text()}`,
        );
      }
    });
    tails.set(streamId, next);
    inFlight.add(next);
    void next.finally(() => inFlight.delete(next)).catch(() => {});
    if (inFlight.size >= 32) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

function adminFetch(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${admin}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}` },
  });
}

/** Each partition's last position: where every checkpoint of it must get to. */
async function partitionHeads(): Promise<number[]> {
  const heads = new Array<number>(PARTITIONS).fill(0);
  const result = await pool.query<{ partition: number; head: string }>(
    'SELECT partition, max(position) AS head FROM refract.events GROUP BY partition',
  );
  for (const row of result.rows) heads[row.partition] = Number(row.head);
  return heads;
}

/** Checkpoints short of their partition's head: the live versions' rows in Postgres, the counters' in Redis. */
async function behind(): Promise<string[]> {
  const heads = await partitionHeads();
  const rows = await pool.query<{ projection: string; partition: number; position: string }>(
    `SELECT c.projection, c.partition, c.position
       FROM refract.projection_checkpoints c
       JOIN refract.projections p ON p.name = c.projection AND p.live_version = c.version`,
  );
  const lagging = rows.rows
    .filter((row) => Number(row.position) < heads[row.partition]!)
    .map((row) => `${row.projection}/${row.partition}`);
  const tables = new Set(rows.rows.map((row) => row.projection));
  for (const name of ['order_summary', 'customer_stats', 'account_balances']) {
    if (!tables.has(name)) lagging.push(`${name}: no checkpoints`);
  }
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const at = await counterCheckpoint(redis, ns.prefix, 'bank_activity', 1, partition);
    if (at < heads[partition]!) lagging.push(`bank_activity/${partition}`);
  }
  return lagging;
}

async function expectOrdersFold(events: readonly WorkloadEvent[]): Promise<void> {
  const want = expectedReadModels(events);
  const summaries = await pool.query<{
    order_id: string;
    customer_id: string;
    status: string;
    item_count: number;
    total_cents: string;
  }>(
    'SELECT order_id, customer_id, status, item_count, total_cents FROM projections.order_summary',
  );
  expect(
    new Map(
      summaries.rows.map((r) => [
        r.order_id,
        [r.customer_id, r.status, r.item_count, Number(r.total_cents)],
      ]),
    ),
  ).toEqual(
    new Map(
      [...want.orders.values()].map((o) => [
        o.orderId,
        [o.customerId, o.status, o.itemCount, o.totalCents],
      ]),
    ),
  );
  const customers = await pool.query<{
    customer_id: string;
    orders_placed: number;
    orders_shipped: number;
    orders_cancelled: number;
    lifetime_value_cents: string;
  }>('SELECT * FROM projections.customer_stats');
  expect(
    new Map(
      customers.rows.map((r) => [
        r.customer_id,
        [r.orders_placed, r.orders_shipped, r.orders_cancelled, Number(r.lifetime_value_cents)],
      ]),
    ),
  ).toEqual(
    new Map(
      [...want.customers.values()].map((c) => [
        c.customerId,
        [c.ordersPlaced, c.ordersShipped, c.ordersCancelled, c.lifetimeValueCents],
      ]),
    ),
  );
}

async function expectBankFold(events: readonly BankWorkloadEvent[]): Promise<void> {
  const want = expectedBankReadModels(events);
  const balances = await pool.query<{
    account_id: string;
    owner: string | null;
    status: string;
    opened_at: Date | null;
    balance_cents: string;
  }>(
    'SELECT account_id, owner, status, opened_at, balance_cents FROM projections.account_balances',
  );
  expect(
    new Map(
      balances.rows.map((r) => [
        r.account_id,
        [r.owner, r.status, r.opened_at?.toISOString() ?? null, Number(r.balance_cents)],
      ]),
    ),
  ).toEqual(
    new Map(
      [...want.accounts.values()].map((a) => [
        a.accountId,
        [a.owner, a.status, a.openedAt, a.balanceCents],
      ]),
    ),
  );
  expect(await readCounters(redis, ns.prefix, 'bank_activity', 1, PARTITIONS)).toEqual(
    want.activity,
  );
}

it('runs orders and bank in one stack: exact through a SIGKILLed bank worker and a customer_stats rebuild under load', async () => {
  await eventually(() => everyPartitionOwnedBy(workers.bank));
  await eventually(() => everyPartitionOwnedBy(workers.orders));
  const third = Math.floor(all.length / 3);
  await appendAll(all.slice(0, third));

  // One bank worker dies mid-load; the other takes its partitions once their leases lapse.
  const [survivor, victim] = workers.bank as [Worker, Worker];
  const load = appendAll(all.slice(third, 2 * third));
  victim.service.child.kill('SIGKILL');
  await victim.service.exited;
  await eventually(() => everyPartitionOwnedBy([survivor]), { timeoutMs: LEASE_TTL_MS * 4 });

  // customer_stats is rebuilt blue/green while appends go on.
  let loaded = false;
  const rest = load.then(async () => {
    await appendAll(all.slice(2 * third));
    loaded = true;
  });
  const requested = await adminFetch('/api/projections/customer_stats/rebuild', { method: 'POST' });
  expect(requested.status).toBe(202);
  const { jobId } = (await requested.json()) as { jobId: string };
  expect(loaded).toBe(false);
  await eventually(
    async () => {
      const job = (await (await adminFetch(`/api/jobs/${jobId}`)).json()) as { state: string };
      expect(job.state).toBe('completed');
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
  await rest;

  await eventually(async () => expect(await behind()).toEqual([]), { timeoutMs: 90_000 });
  const live = await pool.query<{ live_version: number }>(
    "SELECT live_version FROM refract.projections WHERE name = 'customer_stats'",
  );
  expect(live.rows[0]!.live_version).toBe(2);
  await expectOrdersFold(orders);
  await expectBankFold(bank);
}, 240_000);
