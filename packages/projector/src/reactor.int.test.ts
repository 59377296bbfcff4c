import { defineReactor, partitionOf, postJson, type Reactor } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  startWebhookSink,
  type TestDatabase,
  type TestRedisNamespace,
  type WebhookSink,
} from '@refract/testing';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { listQuarantinedStreams } from './parked.js';
import { registerReactor, replayReactor, summarizeEffects } from './reactor.js';
import { ProjectorWorker } from './worker.js';

const PARTITIONS = 4;
const logger = createLogger({
  service: 'reactor-test',
  level: process.env.DEBUG_LOG ? 'debug' : 'silent',
});
let db: TestDatabase;
let ns: TestRedisNamespace;
let store: EventStore;
let relay: Relay;
let sink: WebhookSink;
const workers: ProjectorWorker[] = [];

beforeAll(async () => {
  db = await createTestDatabase('reactor');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  ns = createTestRedisNamespace('reactor');
  relay = new Relay({
    databaseUrl: db.url,
    redis: createRedisClient(ns.url),
    keyPrefix: ns.prefix,
  });
  relay.start();
  sink = await startWebhookSink();
});

afterEach(async () => {
  for (const worker of workers.splice(0)) await worker.close();
});

afterAll(async () => {
  await relay?.close();
  await store?.close();
  await sink?.close();
  await ns?.cleanup();
  await db?.drop();
});

/**
 * A shipping notice per order, keyed by the order: POSTed to the sink for
 * each OrderPlaced; an order whose id starts with `bad` is refused by the
 * handler (a deterministic failure) before its call.
 */
function notices(name: string): Reactor {
  return defineReactor<{ type: 'OrderPlaced'; data: { orderId: string } }>({
    name,
    pool: 'notices',
    handlers: {
      OrderPlaced: async (event, ctx) => {
        const { orderId } = event.data;
        if (orderId.startsWith('bad')) throw new Error(`order ${orderId} cannot be shipped`);
        await ctx.effect(`${name}:${orderId}`, () =>
          postJson(sink.url, { key: `${name}:${orderId}`, orderId }),
        );
      },
    },
    retryBackoffMs: 20,
  });
}

async function startWorker(reactor: Reactor): Promise<ProjectorWorker> {
  const worker = new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: ns.url,
    keyPrefix: ns.prefix,
    pool: 'notices',
    projections: [],
    reactors: [reactor],
    heartbeatMs: 100,
    blockMs: 100,
    logger,
  });
  workers.push(worker);
  await worker.start();
  return worker;
}

const placed = (orderId: string) => ({ type: 'OrderPlaced', data: { orderId } });

async function ledger(reactor: string) {
  const { rows } = await store.pool.query<{ effect_key: string; attempts: number; done: boolean }>(
    `SELECT effect_key, attempts, done_at IS NOT NULL AS done FROM refract.effect_ledger
     WHERE reactor = $1 ORDER BY effect_key`,
    [reactor],
  );
  return rows;
}

/** Every partition's checkpoint of `reactor` is at its head. */
async function caughtUp(reactor: string): Promise<void> {
  const { rows } = await store.pool.query<{ behind: number }>(
    `SELECT count(*)::int AS behind FROM refract.projection_checkpoints c
     WHERE c.projection = $1 AND c.position < coalesce(
       (SELECT max(position) FROM refract.events e WHERE e.partition = c.partition), 0)`,
    [reactor],
  );
  expect(rows[0]!.behind).toBe(0);
}

it('starts at the head, POSTs each new event once, and records each key exactly once in the ledger', async () => {
  await store.append('order-before', [placed('before')]);
  const reactor = notices('ship_head');
  await startWorker(reactor);
  const ids = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];
  for (const id of ids) await store.append(`order-${id}`, [placed(id)]);
  await eventually(() =>
    expect(sink.keys().filter((k) => k.startsWith('ship_head:'))).toHaveLength(6),
  );
  await eventually(() => caughtUp('ship_head'));
  // History before its registration is not delivered: it started at the head.
  expect(sink.count('ship_head:before')).toBe(0);
  for (const id of ids) expect(sink.count(`ship_head:${id}`)).toBe(1);
  expect(await ledger('ship_head')).toEqual(
    ids.map((id) => ({ effect_key: `ship_head:${id}`, attempts: 1, done: true })),
  );
  expect((await summarizeEffects(store.pool, ['ship_head']))[0]).toEqual({
    reactor: 'ship_head',
    delivered: 6,
    exactlyOnce: 6,
    atLeastOnce: 0,
    pending: 0,
  });
});

it('a replay from 0 calls the sink only for the keys missing from the ledger', async () => {
  const reactor = notices('ship_replay');
  await startWorker(reactor);
  const ids = ['r1', 'r2', 'r3', 'r4', 'r5'];
  for (const id of ids) await store.append(`order-${id}`, [placed(id)]);
  await eventually(() =>
    expect(sink.keys().filter((k) => k.startsWith('ship_replay:'))).toHaveLength(5),
  );
  await eventually(() => caughtUp('ship_replay'));
  // Two keys forgotten behind the engine's back: only they may be called again.
  await store.pool.query(
    `DELETE FROM refract.effect_ledger WHERE reactor = 'ship_replay' AND effect_key = ANY ($1)`,
    [['ship_replay:r2', 'ship_replay:r4']],
  );
  const { partitions } = await replayReactor(store.pool, 'ship_replay', 0);
  expect(partitions.length).toBeGreaterThan(0);
  // The positive sign: the forgotten keys were called again, and the replay went through the log.
  await eventually(() => {
    expect(sink.count('ship_replay:r2')).toBe(2);
    expect(sink.count('ship_replay:r4')).toBe(2);
  });
  await eventually(() => caughtUp('ship_replay'));
  for (const id of ['r1', 'r3', 'r5']) expect(sink.count(`ship_replay:${id}`)).toBe(1);
  // Events from before the reactor existed have no key in the ledger: the replay delivers them.
  expect(sink.count('ship_replay:before')).toBe(1);
  expect((await ledger('ship_replay')).every((row) => row.done)).toBe(true);
});

it('parks a refused event in stream order, and the calls made before it in its batch are not made again', async () => {
  const reactor = notices('ship_poison');
  // Registered (at the head) before the events, the worker started after
  // them: each partition's events come in one batch.
  await registerReactor(store.pool, reactor, PARTITIONS);
  const partition = partitionOf('order-bad1', PARTITIONS);
  const beside = Array.from({ length: 40 }, (_, i) => `px${i}`)
    .filter((id) => partitionOf(`order-${id}`, PARTITIONS) === partition)
    .slice(0, 2);
  expect(beside).toHaveLength(2);
  const [before, after] = beside as [string, string];
  await store.append(`order-${before}`, [placed(before)]);
  await store.append('order-bad1', [placed('bad1'), placed('bad1-later')]);
  await store.append(`order-${after}`, [placed(after)]);
  await startWorker(reactor);
  await eventually(() => caughtUp('ship_poison'));
  // The batch failed whole once, then was isolated: the call before the
  // poison was made once, its done mark written again without a call.
  expect(sink.count(`ship_poison:${before}`)).toBe(1);
  expect(sink.count(`ship_poison:${after}`)).toBe(1);
  expect(sink.count('ship_poison:bad1-later')).toBe(0);
  expect(await ledger('ship_poison')).toEqual([
    { effect_key: `ship_poison:${before}`, attempts: 1, done: true },
    { effect_key: `ship_poison:${after}`, attempts: 1, done: true },
  ]);
  const page = await listQuarantinedStreams(store, 'ship_poison');
  expect(page.streams.map((s) => [s.streamId, s.events.map((e) => e.behind === null)])).toEqual([
    ['order-bad1', [true, false]],
  ]);
});

it('retries an effect the sink answers 503 with backoff, and reports it at-least-once', async () => {
  const reactor = notices('ship_flaky');
  await startWorker(reactor);
  sink.fail('ship_flaky:f1', 503, 2);
  await store.append('order-f1', [placed('f1')]);
  await store.append('order-f2', [placed('f2')]);
  await eventually(() => caughtUp('ship_flaky'));
  expect(sink.count('ship_flaky:f1')).toBe(3);
  expect(sink.count('ship_flaky:f2')).toBe(1);
  expect(await ledger('ship_flaky')).toEqual([
    { effect_key: 'ship_flaky:f1', attempts: 3, done: true },
    { effect_key: 'ship_flaky:f2', attempts: 1, done: true },
  ]);
  expect((await listQuarantinedStreams(store, 'ship_flaky')).streams).toEqual([]);
  expect((await summarizeEffects(store.pool, ['ship_flaky']))[0]).toMatchObject({
    delivered: 2,
    exactlyOnce: 1,
    atLeastOnce: 1,
  });
});
