import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectionInfo } from './admin-types.js';

/**
 * The built `refract` bin, as a user who installed @refract/cli runs it
 * (`node_modules/.bin/refract`): every service runs from it. The e2e
 * project's global setup builds it; nothing here goes through the TypeScript
 * source.
 */
const BIN = fileURLToPath(new URL('../dist/bin/refract.js', import.meta.url));
const ORDERS_CONFIG = 'examples/orders/refract.config.ts';
const TOKEN = 'cli-bin-e2e-admin-token-0123456789';

let db: TestDatabase;
let ns: TestRedisNamespace;
const running: Running[] = [];

interface Running {
  child: ChildProcess;
  /** Every line of stdout and stderr so far. */
  lines: string[];
  exited: Promise<number | null>;
}

/** `refract <args>` as a child process, from `cwd` (the repository root unless told). */
function refract(args: string[], env: Record<string, string>, cwd = REPO_ROOT): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: the dev stack is stopped as a terminal's Ctrl-C would.
    detached: true,
  });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => lines.push(line));
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => resolve(code)),
  );
  const run = { child, lines, exited };
  running.push(run);
  return run;
}

/** Waits until `url` answers 200 while `run` is alive (its output in the failure). */
async function ready(run: Running, url: string): Promise<void> {
  await eventually(
    async () => {
      expect(run.child.exitCode, run.lines.join('\n')).toBeNull();
      expect((await fetch(url)).status).toBe(200);
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

function records(run: Running): Record<string, unknown>[] {
  return run.lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

beforeAll(async () => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: the e2e global setup (\`pnpm pack:all\`) builds it`);
  db = await createTestDatabase('cli_bin_e2e');
  ns = createTestRedisNamespace('cli-bin-e2e');
});

afterAll(async () => {
  for (const run of running) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      process.kill(-run.child.pid!, 'SIGKILL');
    }
  }
  await ns?.cleanup();
  await db?.drop();
});

describe('the refract bin runs the system', () => {
  it('migrate, then every service from one module: a command reaches the projection', async () => {
    const migrate = refract(['migrate'], { DATABASE_URL: db.url, REFRACT_PARTITIONS: '4' });
    expect(await migrate.exited, migrate.lines.join('\n')).toBe(0);
    expect(migrate.lines.join('\n')).toMatch(/applied .*\(4 partitions\)/);

    const shared = { DATABASE_URL: db.url, REDIS_URL: ns.url, REDIS_KEY_PREFIX: ns.prefix };
    const [writePort, relayPort, workerPort, queryPort, adminPort] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const config = ['--config', ORDERS_CONFIG];
    const writeApi = refract(['write-api', ...config], {
      ...shared,
      WRITE_API_PORT: String(writePort),
      WRITE_API_HOST: '127.0.0.1',
      // The relay runs on its own below, from `refract relay`.
      RELAY_MODE: 'off',
    });
    const relay = refract(['relay', ...config], {
      ...shared,
      RELAY_PORT: String(relayPort),
      RELAY_HOST: '127.0.0.1',
    });
    const worker = refract(['worker', '--pool', 'orders', ...config], {
      ...shared,
      WORKER_PORT: String(workerPort),
      WORKER_HOST: '127.0.0.1',
    });
    const queryApi = refract(['query-api', ...config], {
      ...shared,
      QUERY_API_PORT: String(queryPort),
      QUERY_API_HOST: '127.0.0.1',
    });
    const admin = refract(['admin', ...config], {
      ...shared,
      ADMIN_PORT: String(adminPort),
      ADMIN_HOST: '127.0.0.1',
      ADMIN_TOKEN: TOKEN,
    });
    await ready(writeApi, `http://127.0.0.1:${writePort}/readyz`);
    await ready(relay, `http://127.0.0.1:${relayPort}/readyz`);
    await ready(worker, `http://127.0.0.1:${workerPort}/readyz`);
    await ready(queryApi, `http://127.0.0.1:${queryPort}/readyz`);
    await ready(admin, `http://127.0.0.1:${adminPort}/readyz`);
    // The pool came from --pool (no POOL is set), the module from --config.
    expect(records(worker).find((r) => r.msg === 'projector-worker listening')).toMatchObject({
      pool: 'orders',
      projections: expect.arrayContaining(['order_summary', 'customer_stats']),
    });

    const placed = await fetch(`http://127.0.0.1:${writePort}/commands/PlaceOrder`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'bin-1', customerId: 'customer-bin' }),
    });
    expect(placed.status, await placed.clone().text()).toBe(200);
    await eventually(
      async () => {
        const order = await fetch(`http://127.0.0.1:${queryPort}/orders/bin-1`);
        expect(order.status).toBe(200);
        expect(await order.json()).toMatchObject({ orderId: 'bin-1' });
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    // The admin commands keep working beside them, on the same bin.
    const status = refract(['status', '--json', '--url', `http://127.0.0.1:${adminPort}`], {
      REFRACT_ADMIN_TOKEN: TOKEN,
    });
    expect(await status.exited, status.lines.join('\n')).toBe(0);
    const { projections } = JSON.parse(status.lines.join('\n')) as {
      projections: ProjectionInfo[];
    };
    expect(projections.map((p) => p.name).sort()).toEqual(['customer_stats', 'order_summary']);

    // SIGTERM: each stops gracefully, exit 0 (the service's code, not the CLI's).
    for (const run of [admin, queryApi, worker, relay, writeApi]) {
      run.child.kill('SIGTERM');
      expect(await run.exited, run.lines.slice(-10).join('\n')).toBe(0);
    }
  }, 240_000);

  it('worker with a pool the module does not declare exits 1 naming the pool', async () => {
    const worker = refract(['worker', '--pool', 'shipping', '--config', ORDERS_CONFIG], {
      DATABASE_URL: db.url,
      REDIS_URL: ns.url,
      REDIS_KEY_PREFIX: ns.prefix,
      WORKER_PORT: String(await freePort()),
      WORKER_HOST: '127.0.0.1',
    });
    expect(await worker.exited).toBe(1);
    expect(worker.lines.join('\n')).toMatch(
      /^projector-worker: POOL: no projection belongs to pool shipping \(pools: orders, notices\)$/m,
    );
  }, 60_000);

  it('dev runs the stack from the built packages, in a directory outside the checkout', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'refract-dev-'));
    try {
      const ports = {
        write: await freePort(),
        query: await freePort(),
        admin: await freePort(),
        worker: await freePort(),
      };
      const dev = refract(
        ['dev', '--config', join(REPO_ROOT, ORDERS_CONFIG)],
        {
          DATABASE_URL: db.url,
          REDIS_URL: ns.url,
          REDIS_KEY_PREFIX: ns.prefix,
          WRITE_API_PORT: String(ports.write),
          QUERY_API_PORT: String(ports.query),
          ADMIN_PORT: String(ports.admin),
          WORKER_PORT: String(ports.worker),
          DEV_STACK_WORKERS: '1',
          DEMO_RATE_PER_SECOND: '0',
          LOG_PRETTY: 'false',
        },
        workDir,
      );
      // A stack that exits while starting fails the test at once, with its last lines.
      const exitedEarly = dev.exited.then((code) => {
        throw new Error(`refract dev exited ${code}:\n${dev.lines.slice(-20).join('\n')}`);
      });
      await Promise.race([
        eventually(() => expect(records(dev).some((r) => r.msg === 'stack ready')).toBe(true), {
          timeoutMs: 120_000,
          intervalMs: 250,
        }),
        exitedEarly,
      ]);
      exitedEarly.catch(() => {});
      const stackReady = records(dev).find((r) => r.msg === 'stack ready')!;
      // The token is kept where `refract dev` was typed, and the CLI finds it there.
      expect(stackReady.cli).toBe(`refract status --url http://127.0.0.1:${ports.admin}`);
      const tokenFile = join(workDir, '.refract', 'admin-token');
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(stackReady.adminToken).toBe(`${token} (kept in ${tokenFile}, new)`);
      // Each service runs its built entry, found through its package.
      const writeApi = records(dev).find(
        (r) => r.child === 'write-api' && r.msg === 'write-api ready',
      );
      const cmdline = readFileSync(`/proc/${writeApi?.pid as number}/cmdline`, 'utf8');
      expect(cmdline.split('\0')).toContain(join(REPO_ROOT, 'services/write-api/dist/main.js'));

      process.kill(-dev.child.pid!, 'SIGINT');
      expect(await dev.exited, dev.lines.slice(-20).join('\n')).toBe(0);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }, 240_000);
});
