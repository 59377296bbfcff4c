import {
  defineApp,
  defineEvent,
  defineProjection,
  type EventsOf,
  type Projection,
} from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { listParkedEvents, ProjectorWorker, retryParkedEvent } from '@refract/projector';
import { Relay } from '@refract/relay';
import { createRedisClient, waitUntilReady } from '@refract/stream-bus';
import {
  createTestDatabase,
  eventually,
  type RedisServer,
  startRedisServer,
  type TestDatabase,
} from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { openStore } from './jobs/store-source.js';
import { rebuildProjection } from './rebuild.js';

const PARTITIONS = 4;
const logger = createLogger({ service: 'upcasting-test', level: 'silent' });

/** v2 of `Deposited`: cents as an integer; v1 stored `{ amount: '1.50' }`. */
const depositedV2 = defineEvent('Deposited', {
  version: 2,
  schema: z.object({ amountCents: z.number().int() }),
  upcasters: [
    {
      fromVersion: 1,
      upcast: (data) => ({ amountCents: Math.round(Number(data.amount) * 100) }),
    },
  ],
});
const events = [depositedV2] as const;
type BankEvent = EventsOf<typeof events>;

/** One row per deposit: the cents the handler saw, so a v1 payload cannot pass unnoticed. */
function depositTable(name: string, options: { failOn?: () => number | undefined } = {}) {
  return defineProjection<BankEvent>({
    name,
    version: 1,
    tables: [name],
    setup: (table) =>
      `CREATE TABLE IF NOT EXISTS ${table(name)} (event_id uuid PRIMARY KEY, stream_id text NOT NULL, amount_cents bigint NOT NULL)`,
    handlers: {
      async Deposited(event, ctx) {
        if (!Number.isInteger(event.data.amountCents)) {
          throw new Error(`deposit ${event.id} is not in the current shape`);
        }
        if (event.data.amountCents === options.failOn?.()) {
          throw new Error(`a bug on ${event.data.amountCents} cents`);
        }
        await ctx.sql.query(
          `INSERT INTO ${ctx.table(name)} VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [event.id, event.streamId, event.data.amountCents],
        );
      },
    },
    onError: options.failOn ? 'park' : 'halt',
    maxAttempts: 1,
  });
}
/** Until the "fix", the handler throws on the late v1 event (7.25 → 725 cents once upcast). */
let bug: number | undefined = 725;
const deposits = depositTable('deposits');
const lateDeposits = depositTable('late_deposits', { failOn: () => bug });
const app = defineApp({
  name: 'upcasting',
  events,
  projections: [deposits, lateDeposits],
  pools: { bank: ['deposits'], late: ['late_deposits'] },
});

let db: TestDatabase;
let server: RedisServer;
let relay: Relay;
let store: EventStore;
let worker: ProjectorWorker | undefined;
let lateWorker: ProjectorWorker | undefined;

beforeAll(async () => {
  db = await createTestDatabase('upcasting');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url, upcasters: app.upcasters });
  server = await startRedisServer();
  relay = new Relay({ databaseUrl: db.url, redis: createRedisClient(server.url), windowSize: 50 });
  relay.start();
});

afterAll(async () => {
  await worker?.close();
  await lateWorker?.close();
  await relay?.close();
  await store?.close();
  await server?.kill();
  await db?.drop();
});

/** What the read model must hold: every stored deposit read through the app's upcasters. */
async function expectedDeposits(): Promise<Map<string, { streamId: string; cents: number }>> {
  const all = await store.readAll({ types: ['Deposited'], limit: 10_000 });
  return new Map(
    all.map((e) => [
      e.id,
      { streamId: e.streamId, cents: (e.data as { amountCents: number }).amountCents },
    ]),
  );
}

async function readModel(table: string): Promise<Map<string, { streamId: string; cents: number }>> {
  const rows = await store.pool.query<{
    event_id: string;
    stream_id: string;
    amount_cents: string;
  }>(`SELECT event_id, stream_id, amount_cents FROM ${table}`);
  return new Map(
    rows.rows.map((r) => [r.event_id, { streamId: r.stream_id, cents: Number(r.amount_cents) }]),
  );
}

it('a live worker and a rebuild both see v1 events in their v2 shape', async () => {
  worker = new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: server.url,
    pool: 'bank',
    projections: app.projectionsOf('bank'),
    upcasters: app.upcasters,
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    batchSize: 20,
    logger,
  });
  await worker.start();
  // Owning every partition with an empty log: what follows arrives through Redis.
  await eventually(async () => expect(worker!.status().partitions).toHaveLength(PARTITIONS));

  // Written before v2 existed: a store without upcasters stamps schema version 1.
  const before = await EventStore.open({ databaseUrl: db.url });
  try {
    for (let i = 0; i < 12; i++) {
      await before.append(`acct-${i % 6}`, [{ type: 'Deposited', data: { amount: `${i}.50` } }]);
    }
  } finally {
    await before.close();
  }
  // After v2 is declared: a late v1 writer and a current one.
  await store.append('acct-0', [{ type: 'Deposited', data: { amount: '7.25' }, schemaVersion: 1 }]);
  await store.append('acct-1', [{ type: 'Deposited', data: { amountCents: 990 } }]);
  const stored = await store.pool.query<{ schema_version: number; n: string }>(
    `SELECT schema_version, count(*) AS n FROM refract.events GROUP BY schema_version ORDER BY 1`,
  );
  expect(stored.rows.map((r) => [r.schema_version, Number(r.n)])).toEqual([
    [1, 13],
    [2, 1],
  ]);

  const want = await expectedDeposits();
  expect(want.size).toBe(14);
  expect([...want.values()].map((d) => d.cents)).toContain(725);
  expect([...want.values()].map((d) => d.cents)).toContain(150);
  await eventually(async () => expect(await readModel('projections.deposits')).toEqual(want), {
    timeoutMs: 15_000,
  });

  // The rebuild reads the log through a store opened as the rebuild worker opens its own.
  const opened = await openStore(
    { databaseUrl: db.url, upcasters: app.upcasters },
    'upcasting-rebuild',
  );
  try {
    const result = await rebuildProjection({
      store: opened.store,
      projection: app.projection('deposits') as Projection,
      logger,
    });
    expect(result.version).toBe(2);
  } finally {
    await opened.store.close();
  }
  expect(await readModel('projections.deposits_v2')).toEqual(want);
  expect(await readModel('projections.deposits')).toEqual(want);
}, 60_000);

it('a projection catching up from Postgres, and a retry of its parked event, see v2 too', async () => {
  const want = await expectedDeposits();
  expect(want.size).toBe(14);
  // Redis loses everything: the new pool has only Postgres to catch up from.
  const redis = createRedisClient(server.url);
  try {
    expect(await waitUntilReady(redis, 5000)).toBe(true);
    await redis.flushall();
  } finally {
    redis.disconnect();
  }
  lateWorker = new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: server.url,
    pool: 'late',
    projections: app.projectionsOf('late'),
    upcasters: app.upcasters,
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    batchSize: 5,
    logger,
  });
  await lateWorker.start();
  const parked = await eventually(async () => {
    const open = await listParkedEvents(store, 'late_deposits');
    expect(open).toHaveLength(1);
    return open[0]!;
  });
  const withoutParked = new Map([...want].filter(([, d]) => d.cents !== 725));
  expect(withoutParked.size).toBe(13);
  await eventually(async () =>
    expect(await readModel('projections.late_deposits')).toEqual(withoutParked),
  );

  // The handler is fixed; the retry reads the parked v1 event through the upcasters.
  bug = undefined;
  const retried = await retryParkedEvent(
    store,
    app.projection('late_deposits') as Projection,
    parked.id,
  );
  expect(retried.resolution).toBe('retried');
  expect(await readModel('projections.late_deposits')).toEqual(want);
}, 60_000);
