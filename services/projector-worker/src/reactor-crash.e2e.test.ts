import { EventStore, migrate } from '@refract/event-store';
import { orderStreamId } from '@refract/example-orders';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  type ServiceProcess,
  serviceMain,
  startServiceProcess,
  startWebhookSink,
} from '@refract/testing';
import { afterEach, expect, it } from 'vitest';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('SIGKILLed while a shipping notice is in flight, then restarted: the sink sees each key at most twice, the ledger ends with one done row per key and counts the repeated ones at-least-once', async () => {
  const sink = await startWebhookSink();
  cleanups.push(() => sink.close());
  const [db, ns] = [
    await createTestDatabase('reactor_crash'),
    createTestRedisNamespace('reactor_crash'),
  ];
  cleanups.push(
    () => db.drop(),
    () => ns.cleanup(),
  );
  await migrate({ databaseUrl: db.url, partitions: 4 });
  const store = await EventStore.open({ databaseUrl: db.url });
  const redis = createRedisClient(ns.url);
  const relay = new Relay({ databaseUrl: db.url, redis, keyPrefix: ns.prefix });
  relay.start();
  cleanups.push(
    () => store.close(),
    () => relay.close(),
  );

  // The orders example's reactor, in its pool of its own, POSTing to the sink.
  const startWorker = async (): Promise<ServiceProcess> => {
    const port = await freePort();
    const worker = await startServiceProcess(
      serviceMain('projector-worker'),
      {
        DATABASE_URL: db.url,
        REDIS_URL: ns.url,
        REDIS_KEY_PREFIX: ns.prefix,
        POOL: 'notices',
        WEBHOOK_SINK_URL: sink.url,
        WORKER_PORT: String(port),
        WORKER_HOST: '127.0.0.1',
        WORKER_HEARTBEAT_MS: '200',
        WORKER_LEASE_TTL_MS: '1000',
      },
      `http://127.0.0.1:${port}/readyz`,
    );
    cleanups.push(() => {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGKILL');
      }
      return worker.exited;
    });
    return worker;
  };
  const ship = (orderId: string) =>
    store.append(orderStreamId(orderId), [
      { type: 'OrderShipped', data: { orderId, trackingNumber: `T-${orderId}` } },
    ]);
  const orders = Array.from({ length: 12 }, (_, i) => `o${i + 1}`);

  const first = await startWorker();
  for (const id of orders.slice(0, 4)) await ship(id);
  await eventually(() => expect(sink.keys()).toHaveLength(4), { timeoutMs: 20_000 });
  // The call for o7 is held; the worker dies between the call and its commit.
  const held = sink.hold((key) => key === 'shipped:o7');
  for (const id of orders.slice(4)) await ship(id);
  expect(await held.held).toBe('shipped:o7');
  first.child.kill('SIGKILL');
  await first.exited;
  held.release();

  await startWorker();
  await eventually(
    async () => {
      const { rows } = await store.pool.query<{ done: number }>(
        `SELECT count(*)::int AS done FROM refract.effect_ledger
         WHERE reactor = 'shipping_notices' AND done_at IS NOT NULL`,
      );
      expect(rows[0]!.done).toBe(orders.length);
    },
    { timeoutMs: 30_000 },
  );
  const { rows } = await store.pool.query<{ effect_key: string; attempts: number }>(
    `SELECT effect_key, attempts FROM refract.effect_ledger WHERE reactor = 'shipping_notices'
     ORDER BY effect_key`,
  );
  expect(rows.map((r) => r.effect_key)).toEqual(orders.map((id) => `shipped:${id}`).sort());
  expect(sink.keys()).toEqual(orders.map((id) => `shipped:${id}`).sort());
  for (const { effect_key: key, attempts } of rows) {
    expect(sink.count(key), key).toBeLessThanOrEqual(2);
    // The ledger never under-reports: a key the sink saw twice counts at-least-once
    // (one attempted when the kill came may not have reached the sink: counted all the same).
    expect(attempts, key).toBeGreaterThanOrEqual(sink.count(key));
    expect(attempts, key).toBeLessThanOrEqual(2);
  }
  expect(sink.count('shipped:o7')).toBe(2);
}, 90_000);
