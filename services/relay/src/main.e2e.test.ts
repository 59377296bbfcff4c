import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventStore, migrate } from '@refract/event-store';
import { createRedisClient, readPartitionStream } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  startRedisCluster,
} from '@refract/testing';
import { expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A key prefix on the shared test Redis, or a private 3-master cluster started for the test. */
async function redisTarget(cluster: boolean) {
  if (!cluster) return createTestRedisNamespace('relay_service');
  const nodes = await startRedisCluster({ masters: 3 });
  return { url: nodes.url, prefix: 'refract:', cleanup: nodes.stop };
}

it.each([
  ['one Redis server', false],
  ['a 3-master Redis Cluster (REDIS_URL=redis+cluster://…)', true],
])(
  'publishes appended events to %s, reports itself ready and leading, and stops on SIGTERM',
  async (_, cluster) => {
    const db = await createTestDatabase('relay_service');
    const ns = await redisTarget(cluster);
    const redis = createRedisClient(ns.url, { failFast: false });
    await migrate({ databaseUrl: db.url, partitions: 2 });
    const store = await EventStore.open({ databaseUrl: db.url });
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ['--conditions=@refract/source', '--import', 'tsx', MAIN],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          DATABASE_URL: db.url,
          REDIS_URL: ns.url,
          REDIS_KEY_PREFIX: ns.prefix,
          RELAY_PORT: String(port),
          RELAY_HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const result = await store.append('order-1', [
        { type: 'OrderPlaced', data: { orderId: '1' } },
      ]);
      await eventually(
        async () => {
          const entries = await readPartitionStream(
            redis,
            ns.prefix,
            store.partitionOf('order-1'),
            0,
          );
          expect(entries.map((e) => e.position)).toEqual([result.lastPosition]);
        },
        { timeoutMs: 20_000 },
      );
      const ready = await (await fetch(`http://127.0.0.1:${port}/readyz`)).json();
      expect(ready).toMatchObject({ leader: true, publishedPosition: result.lastPosition });
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toMatch(/^refract_relay_published_events_total 1$/m);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await store.close();
      redis.disconnect();
      await ns.cleanup();
      await db.drop();
    }
  },
);

it('prints a bad configuration naming each variable and exits 1', async () => {
  const child = spawn(process.execPath, ['--conditions=@refract/source', '--import', 'tsx', MAIN], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: 'redis://127.0.0.1:6379',
      RELAY_PORT: 'eighty',
      RELAY_SHUTDOWN_TIMEOUT_MS: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise((resolve) => child.once('exit', (exit) => resolve(exit)));
  expect(code).toBe(1);
  expect(stderr).toMatch(/^relay: invalid configuration:\n/);
  expect(stderr).toMatch(/^ {2}DATABASE_URL: /m);
  expect(stderr).toMatch(/^ {2}RELAY_PORT: must be a port number$/m);
  expect(stderr).toMatch(
    /^ {2}RELAY_SHUTDOWN_TIMEOUT_MS: must be a positive number of milliseconds$/m,
  );
  expect(stdout).toBe('');
});
