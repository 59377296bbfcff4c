import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EventStore, migrate } from '@refract/event-store';
import { generateWorkload } from '@refract/example-orders';
import { Relay } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  lateDatabase,
  ORDERS_APP_CONFIG,
} from '@refract/testing';
import { afterEach, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('is not ready until it has joined its pool (Postgres refusing first), counts its batches, and stops on SIGTERM', async () => {
  const db = await createTestDatabase('worker_main');
  cleanups.push(() => db.drop());
  await migrate({ databaseUrl: db.url, partitions: 4 });
  const ns = createTestRedisNamespace('worker_main');
  cleanups.push(() => ns.cleanup());
  const late = await lateDatabase(db.url);
  cleanups.push(() => late.close());
  const port = await freePort();

  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', MAIN, '--config', ORDERS_APP_CONFIG],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: late.url,
        REDIS_URL: ns.url,
        REDIS_KEY_PREFIX: ns.prefix,
        POOL: 'orders',
        WORKER_PORT: String(port),
        WORKER_HOST: '127.0.0.1',
        WORKER_HEARTBEAT_MS: '250',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const logs: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const logged = (msg: string) =>
    eventually(() => expect(logs.find((line) => line.msg === msg)).toBeDefined(), {
      timeoutMs: 30_000,
    });
  const readyz = async () => {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  // Listening, but Postgres refuses: not ready until the worker has joined its pool.
  await logged('Postgres unavailable during start: retrying');
  expect(logs.find((line) => line.msg === 'projector-worker listening')).toMatchObject({
    pool: 'orders',
    projections: expect.arrayContaining(['order_summary', 'customer_stats']),
  });
  expect(await readyz()).toEqual({
    status: 503,
    body: { error: 'not_ready', message: 'starting' },
  });

  await late.open();
  await logged('projector-worker ready');
  const ready = await readyz();
  expect(ready.status).toBe(200);
  expect(ready.body).toMatchObject({ status: 'ready', pool: 'orders' });

  // Its batches reach /metrics: the worker's observer is wired to the registry.
  const store = await EventStore.open({ databaseUrl: db.url });
  cleanups.push(() => store.close());
  const redis = createRedisClient(ns.url);
  cleanups.push(() => redis.disconnect());
  const relay = new Relay({ databaseUrl: db.url, redis, keyPrefix: ns.prefix });
  relay.start();
  cleanups.push(() => relay.close());
  const [first] = generateWorkload({ events: 2 });
  await store.append(first!.streamId, [first!.event], { expectedVersion: 'no_stream' });
  await eventually(
    async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^refract_projector_events_applied_total\{[^}]*\} 1$/m);
    },
    { timeoutMs: 20_000 },
  );

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const messages = logs.map((line) => line.msg);
  expect(messages).toContain('worker stopped');
  expect(messages.at(-1)).toBe('stopped');
  expect(logs.filter((line) => (line.level as number) >= 50)).toEqual([]);
}, 90_000);
