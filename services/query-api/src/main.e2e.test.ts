import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { batchContext } from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { orderProjections, orderStreamId } from '@refract/example-orders';
import { registerProjection } from '@refract/projector';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The orders example's application module, relative to the working directory (REPO_ROOT). */
const ORDERS_APP = 'examples/orders/refract.config.ts';
const PARTITIONS = 4;

let db: TestDatabase;
let store: EventStore;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('query_api_e2e');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  pool = createPool({ connectionString: db.url, max: 2 });
  for (const projection of orderProjections) {
    await registerProjection(pool, projection, PARTITIONS);
  }
});

afterAll(async () => {
  await store?.close();
  await pool?.end();
  await db?.drop();
});

interface Service {
  child: ChildProcess;
  port: number;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnMain(env: Record<string, string>, args: string[] = []): ChildProcess {
  return spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', MAIN, ...args],
    {
      // tsx is a root devDependency: --import resolves it from the working directory.
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/** Runs `src/main.ts` until it exits (for starts that must fail), with what it printed. */
async function runToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnMain(env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stdout, stderr };
}

/** Starts `src/main.ts` as the real process, on a port the OS picks, and waits until it listens. */
async function startService(env: Record<string, string>, args: string[] = []): Promise<Service> {
  const child = spawnMain(env, args);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line; stderr: ${stderr}`)),
      30_000,
    );
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      logs.push(record);
      if (record.msg === 'query-api listening') {
        clearTimeout(timer);
        resolve(record.port as number);
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`));
    });
  });
  return { child, port, logs, exited };
}

/** A worker's batch, simulated: apply the stream's events, move the checkpoint, notify. */
async function applyStream(streamId: string): Promise<void> {
  const events = (await store.readStream(streamId)).events;
  const partition = store.partitionOf(streamId);
  for (const projection of orderProjections) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await projection.applyBatch(
        events,
        batchContext(
          { query: (text, values) => client.query(text, values) as never },
          projection,
          projection.version,
          partition,
        ),
      );
      const last = events.at(-1)!.position;
      await client.query(
        `UPDATE refract.projection_checkpoints SET position = greatest(position, $4)
         WHERE projection = $1 AND version = $2 AND partition = $3`,
        [projection.name, projection.version, partition, last],
      );
      await client.query('SELECT pg_notify($1, $2)', [
        'refract_checkpoints',
        `${projection.name}:${projection.version}:${partition}:${last}`,
      ]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  }
}

/** Waits until the service reports this many reads waiting for a checkpoint. */
async function waitingReads(base: string, count: number): Promise<void> {
  await eventually(async () => {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^refract_query_api_pending_waits ${count}$`, 'm'));
  });
}

describe('query-api process', () => {
  it('refuses to start with a bad configuration, naming the variables', async () => {
    const { code, stderr } = await runToExit({ QUERY_API_PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toContain('DATABASE_URL');
    expect(stderr).toContain('QUERY_API_PORT');
  });

  it('serves reads, wakes a waiting read on a checkpoint notification, and on SIGTERM answers waits 503 and exits 0', async () => {
    // --config wins over REFRACT_CONFIG.
    const service = await startService(
      {
        DATABASE_URL: db.url,
        QUERY_API_PORT: '0',
        QUERY_API_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        REFRACT_CONFIG: 'no/such/module.ts',
      },
      ['--config', ORDERS_APP],
    );
    const base = `http://127.0.0.1:${service.port}`;
    try {
      expect(service.logs.find((l) => l.msg === 'query-api listening')).toMatchObject({
        queryApis: ['orders'],
        partitions: PARTITIONS,
      });
      await eventually(async () => {
        const ready = await fetch(`${base}/readyz`);
        expect(await ready.json()).toEqual({ status: 'ready', listening: true });
      });

      const orderId = randomUUID().slice(0, 8);
      const streamId = orderStreamId(orderId);
      const appended = await store.append(streamId, [
        {
          type: 'OrderPlaced',
          data: { orderId, customerId: 'customer-e2e', placedAt: '2024-05-01T00:00:00.000Z' },
        },
        { type: 'ItemAdded', data: { orderId, sku: 'a', qty: 2, unitPrice: '19.99' } },
        { type: 'OrderShipped', data: { orderId, trackingNumber: 'TRK' } },
      ]);

      // Read-your-writes: the read waits for the (simulated) worker.
      const waiting = fetch(
        `${base}/orders/${orderId}?minPosition=${appended.lastPosition}&timeoutMs=10000`,
      );
      await waitingReads(base, 1);
      await applyStream(streamId);
      const read = await waiting;
      expect(read.status).toBe(200);
      expect(await read.json()).toEqual({
        orderId,
        customerId: 'customer-e2e',
        status: 'shipped',
        itemCount: 1,
        total: '39.98',
        placedAt: '2024-05-01T00:00:00.000Z',
        position: appended.lastPosition,
      });
      const stats = await fetch(
        `${base}/customers/customer-e2e/stats?minPosition=${appended.lastPosition}`,
      );
      expect(await stats.json()).toEqual({
        customerId: 'customer-e2e',
        ordersPlaced: 1,
        ordersShipped: 1,
        ordersCancelled: 0,
        lifetimeValue: '39.98',
      });

      // A read still waiting when SIGTERM arrives is answered 503 at once.
      const later = randomUUID().slice(0, 8);
      const next = await store.append(orderStreamId(later), [
        {
          type: 'OrderPlaced',
          data: {
            orderId: later,
            customerId: 'customer-e2e',
            placedAt: '2024-05-01T00:00:00.000Z',
          },
        },
      ]);
      const pending = fetch(
        `${base}/orders/${later}?minPosition=${next.lastPosition}&timeoutMs=10000`,
      );
      await waitingReads(base, 1);
      const signalled = Date.now();
      service.child.kill('SIGTERM');
      const refused = await pending;
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: 'shutting_down' });
      expect(refused.headers.get('connection')).toBe('close');
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - signalled).toBeLessThan(5000);
      expect(service.logs.at(-1)).toMatchObject({ msg: 'stopped', service: 'query-api' });
      expect(service.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      if (service.child.exitCode === null) service.child.kill('SIGKILL');
    }
  });

  it('exits 1 naming the application module when it cannot load one', async () => {
    const { code, stdout } = await runToExit({
      DATABASE_URL: db.url,
      QUERY_API_PORT: '0',
      REFRACT_CONFIG: 'no/such/module.ts',
    });
    expect(code).toBe(1);
    expect(stdout).toContain('cannot start');
    expect(stdout).toContain('no/such/module.ts does not exist');
  });

  it('exits 1 when the database is not migrated', async () => {
    const empty = await createTestDatabase('query_api_e2e_empty');
    try {
      const { code, stdout } = await runToExit({
        DATABASE_URL: empty.url,
        QUERY_API_PORT: '0',
        REFRACT_CONFIG: ORDERS_APP,
      });
      expect(code).toBe(1);
      expect(stdout).toContain('cannot start');
      expect(stdout).toContain('migrate');
    } finally {
      await empty.drop();
    }
  });
});
