import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
  repeatedKeys,
} from '@refract/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';

type LogRecord = Record<string, unknown> & { msg?: string };

interface DevStack {
  child: ChildProcess;
  /** Every JSON log line so far, of every service. */
  logs: LogRecord[];
  /** Everything else written (pnpm's own lines, stderr). */
  text: string[];
  /** Every line as written, JSON or not. */
  raw: string[];
  exited: Promise<number | null>;
  waitFor(predicate: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
}

/**
 * The orders example with a demo of the test's own, from the repository
 * root: the module `pnpm start` is given here, by `--config` or REFRACT_CONFIG.
 */
const DEMO_APP = 'services/dev-stack/src/fixtures/orders-with-demo.config.ts';

/**
 * `pnpm start` from the repository root, as a developer runs it, in a
 * process group of its own so that `interrupt` can do what a terminal's
 * Ctrl-C does: signal the whole group.
 */
function startDevStack(env: Record<string, string>, args: string[] = []): DevStack {
  const child = spawn('pnpm', ['start', ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? tmpdir(),
      LOG_PRETTY: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs: LogRecord[] = [];
  const text: string[] = [];
  const raw: string[] = [];
  const waiters = new Set<() => void>();
  for (const stream of [child.stdout!, child.stderr!]) {
    createInterface({ input: stream }).on('line', (line) => {
      raw.push(line);
      try {
        logs.push(JSON.parse(line) as LogRecord);
      } catch {
        text.push(line);
      }
      for (const wake of waiters) wake();
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const waitFor = (predicate: (record: LogRecord) => boolean, timeoutMs = 60_000) =>
    new Promise<LogRecord>((resolve, reject) => {
      const check = () => {
        const found = logs.find(predicate);
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no such log line within ${timeoutMs} ms; output:\n${dump()}`));
      }, timeoutMs);
      void exited.then((code) => {
        setTimeout(() => {
          cleanup();
          reject(new Error(`pnpm start exited (${code}); output:\n${dump()}`));
        }, 100);
      });
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const dump = () =>
    // Plain-text lines (a child's fatal error before its logger) last, so the tail keeps them.
    [...logs.filter((l) => l.level !== 20).map((l) => JSON.stringify(l)), ...text]
      .slice(-60)
      .join('\n');
  return { child, logs, text, raw, exited, waitFor };
}

/** Ctrl-C: SIGINT to the whole process group, then the exit code. */
async function interrupt(stack: DevStack): Promise<number | null> {
  process.kill(-stack.child.pid!, 'SIGINT');
  return stack.exited;
}

/** Every process below `pid` (Linux /proc), with its command line. */
function descendants(pid: number): { pid: number; cmd: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name (2nd field) may hold spaces; the fields after ')' do not.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {}
  }
  const found: { pid: number; cmd: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {}
      found.push({ pid: child, cmd });
      queue.push(child);
    }
  }
  return found;
}

/** Still running (a zombie waiting for its parent counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function countEvents(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>('SELECT count(*) AS n FROM refract.events');
    return Number(result.rows[0]!.n);
  } finally {
    await client.end();
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** The stack on the test's database and Redis prefix, every service on a free port. */
async function onTestServers(
  db: { url: string },
  redis: { url: string; prefix: string },
  adminPort: number,
  adminToken: string,
): Promise<Record<string, string>> {
  return {
    ADMIN_PORT: String(adminPort),
    ADMIN_TOKEN: adminToken,
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    QUERY_API_PORT: String(await freePort()),
    WORKER_PORT: String(await freePort()),
  };
}

const isStatus = (record: LogRecord) =>
  typeof record.msg === 'string' && record.msg.startsWith('demo traffic:') && 'sent' in record;

describe('pnpm start', () => {
  it('runs write-api on DATABASE_URL and REDIS_URL with demo traffic, and stops cleanly on Ctrl-C', async () => {
    const db = await createTestDatabase('dev_stack_e2e');
    const redis = createTestRedisNamespace('dev-stack');
    const port = await freePort();
    const adminPort = await freePort();
    const adminToken = `dev-stack-e2e-${Date.now()}`;
    try {
      const stack = startDevStack(
        {
          ...(await onTestServers(db, redis, adminPort, adminToken)),
          WRITE_API_PORT: String(port),
          DEMO_RATE_PER_SECOND: '50',
          DEMO_STATUS_INTERVAL_MS: '1000',
        },
        ['--config', DEMO_APP],
      );
      const ready = await stack.waitFor((l) => l.msg === 'stack ready', 150_000);
      expect(ready.writeApi).toBe(`http://127.0.0.1:${port}`);
      expect(ready.app).toBe(`orders-e2e (${join(REPO_ROOT, DEMO_APP)})`);
      expect(ready.workers).toEqual([
        expect.stringMatching(/^2 in pool "orders": http/),
        expect.stringMatching(/^2 in pool "notices": http/),
      ]);
      expect(ready.demo).toBe('50 commands/s from e2e-shipping (DEMO_RATE_PER_SECOND)');
      expect(ready.redis).toContain(redis.prefix);
      // The database's password (if any) is masked; the test URL carries none.
      expect(ready.postgres).toContain('(DATABASE_URL)');
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
      // Admin runs with the ADMIN_TOKEN given, and its API wants it.
      const admin = `http://127.0.0.1:${adminPort}`;
      expect(ready.dashboard).toContain(`${admin}/`);
      expect(ready.adminToken).toBe(`${adminToken} (ADMIN_TOKEN)`);
      expect(ready.cli).toBe(
        `REFRACT_ADMIN_TOKEN=${adminToken} pnpm refract status --url ${admin}`,
      );
      expect((await fetch(`${admin}/api/projections`)).status).toBe(401);
      const projections = await fetch(`${admin}/api/projections`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(projections.status).toBe(200);
      const names = ((await projections.json()) as { name: string }[]).map((p) => p.name).sort();
      // The orders example's reactor is listed beside its projections.
      expect(names).toEqual(['customer_stats', 'order_summary', 'shipping_notices']);

      await eventually(async () => expect(await countEvents(db.url)).toBeGreaterThan(20), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      const status = await stack.waitFor((l) => isStatus(l) && (l.ok as number) > 0);
      expect(status).toMatchObject({ refused: 0, errors: 0 });
      // Shipped demo orders' notices reach the stack's own webhook sink, which logs them.
      const delivered = await stack.waitFor((l) => l.msg === 'webhook delivered', 60_000);
      expect(delivered).toMatchObject({ body: { key: expect.stringMatching(/^shipped:/) } });
      // The relay, the worker pool and query-api are part of the stack: orders get projected.
      const orderId = await eventually(
        async () => {
          const client = new pg.Client({ connectionString: db.url });
          await client.connect();
          try {
            const rows = await client.query<{ order_id: string }>(
              'SELECT order_id FROM projections.order_summary LIMIT 1',
            );
            expect(rows.rows).toHaveLength(1);
            return rows.rows[0]!.order_id;
          } finally {
            await client.end();
          }
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      const order = await fetch(`${ready.queryApi}/orders/${orderId}`);
      expect(order.status).toBe(200);

      const tree = descendants(stack.child.pid!);
      expect(tree.some((p) => p.cmd.includes('write-api/src/main.ts'))).toBe(true);
      // Two per pool: the projections' (orders) and the reactor's (notices).
      expect(tree.filter((p) => p.cmd.includes('projector-worker/src/main.ts'))).toHaveLength(4);
      expect(tree.some((p) => p.cmd.includes('query-api/src/main.ts'))).toBe(true);
      expect(tree.some((p) => p.cmd.includes('admin/src/main.ts'))).toBe(true);
      expect(await interrupt(stack)).toBe(0);

      // write-api was stopped before the stack reported itself stopped, and nothing is left.
      const messages = stack.logs.map((l) => `${l.service}: ${l.msg}`);
      expect(messages.indexOf('write-api: stopped')).toBeGreaterThan(-1);
      expect(messages.indexOf('write-api: stopped')).toBeLessThan(
        messages.indexOf('dev-stack: stack stopped'),
      );
      await eventually(() => expect(tree.filter((p) => alive(p.pid))).toEqual([]), {
        timeoutMs: 5_000,
      });
      expect(stack.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      await redis.cleanup();
      await db.drop();
    }
    // Six Node services compile their TypeScript as they start; on a busy machine that takes minutes.
  }, 240_000);

  it('without DATABASE_URL runs an embedded Postgres (and a redis-server) whose data outlives a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'refract-dev-stack-'));
    // As root the cluster runs as the `postgres` user, who must reach the directory.
    await chmod(dataDir, 0o755);
    const postgresPort = await freePort();
    const adminPort = await freePort();
    const env = {
      ADMIN_PORT: String(adminPort),
      REFRACT_DATA_DIR: dataDir,
      DEV_STACK_POSTGRES_PORT: String(postgresPort),
      DEV_STACK_REDIS_PORT: String(await freePort()),
      WRITE_API_PORT: String(await freePort()),
      QUERY_API_PORT: String(await freePort()),
      WORKER_PORT: String(await freePort()),
      DEMO_RATE_PER_SECOND: '50',
      DEMO_STATUS_INTERVAL_MS: '1000',
      // Relative: taken from where `pnpm start` was typed (the repository root here).
      REFRACT_CONFIG: DEMO_APP,
      // Postgres' and redis-server's own lines are logged at debug.
      LOG_LEVEL: 'debug',
    };
    const url = `postgres://refract:refract@127.0.0.1:${postgresPort}/refract`;
    try {
      const first = startDevStack(env);
      const ready = await first.waitFor((l) => l.msg === 'stack ready', 150_000);
      expect(ready.postgres).toContain(`(embedded, data in ${join(dataDir, 'postgres')}, new)`);
      expect(ready.postgres).toContain('refract:[Redacted]@');
      expect(ready.redis).toContain('local redis-server');
      // Without ADMIN_TOKEN, one is generated into the data directory and admin wants it.
      const tokenFile = join(dataDir, 'admin-token');
      const token = readFileSync(tokenFile, 'utf8').trim();
      expect(ready.adminToken).toBe(`${token} (kept in ${tokenFile}, new)`);
      const projections = await fetch(`http://127.0.0.1:${adminPort}/api/projections`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(projections.status).toBe(200);
      await eventually(async () => expect(await countEvents(url)).toBeGreaterThan(10), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      const tree = descendants(first.child.pid!);
      expect(tree.some((p) => p.cmd.includes('redis-server'))).toBe(true);
      expect(tree.some((p) => p.cmd.includes('postgres') && p.cmd.includes(dataDir))).toBe(true);
      const before = await query<{ n: string; first: string }>(
        url,
        'SELECT count(*) AS n, (array_agg(event_id ORDER BY position))[1] AS first FROM refract.events',
      );
      expect(await interrupt(first)).toBe(0);
      await eventually(() => expect(tree.filter((p) => alive(p.pid))).toEqual([]), {
        timeoutMs: 5_000,
      });
      // The Ctrl-C reached only the stack, which stopped write-api before
      // Postgres and Redis: neither heard the terminal's SIGINT itself.
      const lines = first.logs.map((l) => `${l.child ?? l.service}: ${l.msg}`);
      const writeApiStopped = lines.indexOf('write-api: stopped');
      const postgresShutdown = lines.findIndex((l) => /^postgres: .*shutdown request/.test(l));
      expect(writeApiStopped).toBeGreaterThan(-1);
      expect(postgresShutdown).toBeGreaterThan(writeApiStopped);
      expect(lines.filter((l) => /^postgres: .*shutdown request/.test(l))).toHaveLength(1);
      expect(lines.some((l) => l.startsWith('redis-server: ') && l.includes('SIGINT'))).toBe(false);
      expect(first.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);

      // Demo traffic off: what the second run finds was written by the first.
      const second = startDevStack({ ...env, DEMO_RATE_PER_SECOND: '0' });
      const again = await second.waitFor((l) => l.msg === 'stack ready', 150_000);
      expect(again.postgres).toContain(`(embedded, data in ${join(dataDir, 'postgres')})`);
      // The same token as the first run: the dashboard's session and scripts keep working.
      expect(again.adminToken).toBe(`${token} (kept in ${tokenFile})`);
      const after = await query<{ n: string; found: boolean }>(
        url,
        `SELECT count(*) AS n, bool_or(event_id = '${before[0]!.first}') AS found FROM refract.events`,
      );
      expect(Number(after[0]!.n)).toBeGreaterThanOrEqual(Number(before[0]!.n));
      expect(after[0]!.found).toBe(true);
      const secondTree = descendants(second.child.pid!);
      expect(await interrupt(second)).toBe(0);
      await eventually(() => expect(secondTree.filter((p) => alive(p.pid))).toEqual([]), {
        timeoutMs: 5_000,
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 400_000);

  it('restarts a SIGKILLed worker within the lease TTL while the rest stays up, and adds a worker to the running pool with one command', async () => {
    const db = await createTestDatabase('dev_stack_supervise');
    const redis = createTestRedisNamespace('dev-stack-supervise');
    const dataDir = await mkdtemp(join(tmpdir(), 'refract-dev-stack-'));
    const adminPort = await freePort();
    const adminToken = `dev-stack-supervise-${Date.now()}`;
    // The worker's default is 5 s. A restarted worker compiles its TypeScript
    // with tsx before it joins: a few seconds on an idle machine, many times
    // that on one busy with other test files (a load of 17 on 2 cores was seen).
    const leaseTtlMs = 45_000;
    const admin = `http://127.0.0.1:${adminPort}`;
    const workers = async () => {
      const response = await fetch(`${admin}/api/workers`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as {
        pid: number | null;
        pool: string;
        partitions: number[];
      }[];
    };
    let added: ChildProcess | undefined;
    try {
      const stack = startDevStack(
        {
          ...(await onTestServers(db, redis, adminPort, adminToken)),
          REFRACT_DATA_DIR: dataDir,
          WRITE_API_PORT: String(await freePort()),
          WORKER_LEASE_TTL_MS: String(leaseTtlMs),
          DEMO_RATE_PER_SECOND: '20',
          DEMO_STATUS_INTERVAL_MS: '1000',
        },
        ['--config', DEMO_APP],
      );
      const ready = await stack.waitFor((l) => l.msg === 'stack ready', 150_000);
      const script = join(dataDir, 'add-worker');
      expect(ready.addWorker).toContain(`${script} [pool] [port] (default: pool "orders" on :`);
      const name = 'projector-worker-orders-1';
      const first = await stack.waitFor((l) => l.child === name && l.msg === `${name} ready`);
      const killedPid = first.pid as number;
      await eventually(
        async () => {
          const found = (await workers()).find((w) => w.pid === killedPid);
          expect(found?.partitions.length).toBeGreaterThan(0);
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );

      const killedAt = Date.now();
      process.kill(killedPid, 'SIGKILL');
      const restarted = await stack.waitFor(
        (l) => l.child === name && l.msg === `${name} restarted`,
        leaseTtlMs,
      );
      const backWithinMs = Date.now() - killedAt;
      expect(backWithinMs).toBeLessThan(leaseTtlMs);
      const newPid = restarted.pid as number;
      expect(newPid).not.toBe(killedPid);
      expect(
        stack.logs.find((l) => l.child === name && l.msg === `${name} crashed: restarting`),
      ).toMatchObject({ level: 40, exit: 'was killed by SIGKILL', crashes: 1, crashLimit: 5 });
      // The new process owns partitions again: the pool rebalanced onto it. The
      // killed process's leases are never released, so this can take the TTL.
      await eventually(
        async () => {
          const now = await workers();
          expect(now.find((w) => w.pid === newPid)?.partitions.length).toBeGreaterThan(0);
        },
        { timeoutMs: leaseTtlMs + 30_000, intervalMs: 200 },
      );
      // The stack never stopped: demo traffic went on being accepted after the restart.
      const acceptedBefore = (stack.logs.filter(isStatus).at(-1)?.ok as number | undefined) ?? 0;
      await stack.waitFor((l) => isStatus(l) && (l.ok as number) > acceptedBefore);
      expect(stack.logs.some((l) => l.msg === 'the stack cannot go on: stopping the rest')).toBe(
        false,
      );
      expect(stack.child.exitCode).toBeNull();

      // One more worker, with the script the banner names: the pool of two becomes three.
      const addedPort = await freePort();
      added = spawn(script, ['orders', String(addedPort)], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() },
        stdio: 'ignore',
        // Its own group: pnpm, tsx and the worker below it get the SIGTERM together.
        detached: true,
      });
      await eventually(
        async () => {
          const pool = (await workers()).filter((w) => w.pool === 'orders');
          const owning = pool.filter((w) => w.partitions.length > 0).map((w) => w.pid);
          expect(owning).toHaveLength(3);
          expect(owning).not.toContain(killedPid);
        },
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      const response = await fetch(`http://127.0.0.1:${addedPort}/readyz`);
      expect(response.status).toBe(200);
      const addedExit = new Promise((resolve) => added!.once('exit', resolve));
      process.kill(-added.pid!, 'SIGTERM');
      await addedExit;
      added = undefined;

      expect(await interrupt(stack)).toBe(0);
      expect(stack.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
      // Every line of every service, read raw: no key twice in one record.
      const repeated = stack.raw
        .filter((line) => line.startsWith('{'))
        .map((line) => ({ line, keys: repeatedKeys(line) }))
        .filter((found) => found.keys.length > 0);
      expect(repeated).toEqual([]);
    } finally {
      if (added?.pid) process.kill(-added.pid, 'SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
      await redis.cleanup();
      await db.drop();
    }
  }, 400_000);

  it('given a module that does not load, names it and exits 2 before starting anything', async () => {
    const stack = startDevStack({ REDIS_SERVER_BIN: '/nonexistent/redis-server' }, [
      '--config',
      'services/dev-stack/src/fixtures/missing.config.ts',
    ]);
    expect(await stack.exited).toBe(2);
    const output = stack.text.join('\n');
    expect(output).toContain(
      `dev-stack: application module ${join(REPO_ROOT, 'services/dev-stack/src/fixtures/missing.config.ts')} does not exist`,
    );
    // Redis is the first thing the stack starts: it was never tried.
    expect(output).not.toContain('redis-server');
  });

  it('without REDIS_URL and without redis-server, says what to install and exits 1', async () => {
    const stack = startDevStack({
      // Never reached: Redis is checked first.
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      REDIS_SERVER_BIN: '/nonexistent/redis-server',
    });
    expect(await stack.exited).toBe(1);
    const output = JSON.stringify(stack.logs);
    expect(output).toContain('apt-get install redis-server');
    expect(output).toContain('brew install redis');
  });
});
