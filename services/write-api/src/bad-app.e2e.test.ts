import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrate } from '@refract/event-store';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  freePort,
  REPO_ROOT,
  serviceMain,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

let db: TestDatabase;
let ns: TestRedisNamespace;
const children: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('bad_app_e2e');
  ns = createTestRedisNamespace('bad-app');
  await migrate({ databaseUrl: db.url, partitions: 4 });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await ns?.cleanup();
  await db?.drop();
});

interface Run {
  child: ChildProcess;
  /** The exit code and everything written to stderr. */
  exited: Promise<{ code: number | null; stderr: string }>;
}

/** Runs a service's main.ts as a real process, with `args` after it. */
function run(service: string, args: string[], env: Record<string, string>): Run {
  const child = spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', serviceMain(service), ...args],
    { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' },
  );
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return {
    child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr }))),
  };
}

/** What a service could have written: projection tables, registry and checkpoint rows, events, Redis keys. */
async function written(): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const redis = createRedisClient(ns.url, { failFast: false });
  try {
    const { rows } = await client.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM pg_tables WHERE schemaname = 'projections') AS tables,
              (SELECT count(*)::int FROM pg_views WHERE schemaname = 'projections') AS views,
              (SELECT count(*)::int FROM refract.projections) AS projections,
              (SELECT count(*)::int FROM refract.projection_checkpoints) AS checkpoints,
              (SELECT count(*)::int FROM refract.events) AS events`,
    );
    const keys = await redis.keys(`${ns.prefix}*`);
    return { ...rows[0], redisKeys: keys.length };
  } finally {
    redis.disconnect();
    await client.end();
  }
}

describe('a service given a bad application module', () => {
  it.each([
    [
      'two projections with one name',
      'duplicate-projection.config.ts',
      'two projections are named pings',
    ],
    ['a projection in no pool', 'no-pool.config.ts', 'projection orphan is in no pool'],
    [
      'a projection in two pools',
      'two-pools.config.ts',
      'projection pings is in two pools: ping, pong',
    ],
    [
      'a handler for an undeclared event type',
      'undeclared-handler.config.ts',
      'projection pongs handles Ponged, which is not a declared event type',
    ],
    [
      'an upcaster chain with a gap',
      'upcaster-gap.config.ts',
      'event type Pinged: the upcaster chain has a gap: none from version 2 to 3',
    ],
    ['a file that does not exist', 'missing.config.ts', 'missing.config.ts does not exist'],
    ['a module that exports nothing', 'exports-nothing.config.ts', 'exports no application'],
  ])('with %s exits non-zero naming it, and writes nothing', async (_, file, problem) => {
    const shared = { DATABASE_URL: db.url, REDIS_URL: ns.url, REDIS_KEY_PREFIX: ns.prefix };
    const [writeApi, worker] = await Promise.all([
      run('write-api', [], {
        ...shared,
        REFRACT_CONFIG: fixture(file),
        WRITE_API_PORT: String(await freePort()),
        WRITE_API_HOST: '127.0.0.1',
      }).exited,
      run('projector-worker', ['--config', fixture(file)], {
        ...shared,
        POOL: 'ping',
        WORKER_PORT: String(await freePort()),
        WORKER_HOST: '127.0.0.1',
      }).exited,
    ]);
    expect(writeApi.code).not.toBe(0);
    expect(writeApi.stderr).toContain(`write-api: `);
    expect(writeApi.stderr).toContain(problem);
    expect(worker.code).not.toBe(0);
    expect(worker.stderr).toContain(`projector-worker: `);
    expect(worker.stderr).toContain(problem);
    expect(await written()).toEqual({
      tables: 0,
      views: 0,
      projections: 0,
      checkpoints: 0,
      events: 0,
      redisKeys: 0,
    });
  });

  it.each([
    [
      'a pool the module does not have',
      { POOL: 'pong' },
      'POOL: no projection belongs to pool pong',
    ],
    [
      'a projection the module does not have',
      { POOL: 'ping', PROJECTIONS: 'pings,ghost' },
      'PROJECTIONS: unknown projection ghost',
    ],
  ])('a worker given %s exits non-zero naming it, and writes nothing', async (_, env, problem) => {
    const worker = await run('projector-worker', ['--config', fixture('open.config.ts')], {
      DATABASE_URL: db.url,
      REDIS_URL: ns.url,
      REDIS_KEY_PREFIX: ns.prefix,
      WORKER_PORT: String(await freePort()),
      WORKER_HOST: '127.0.0.1',
      ...env,
    }).exited;
    expect(worker.code).not.toBe(0);
    expect(worker.stderr).toContain(`projector-worker: ${problem}`);
    expect((await written()).projections).toBe(0);
  });

  // Last: it writes. It shows the checks above would see a service that got as far as its work.
  it('with a good module, the same worker registers its projection', async () => {
    const worker = run('projector-worker', ['--config', fixture('open.config.ts')], {
      DATABASE_URL: db.url,
      REDIS_URL: ns.url,
      REDIS_KEY_PREFIX: ns.prefix,
      POOL: 'ping',
      WORKER_PORT: String(await freePort()),
      WORKER_HOST: '127.0.0.1',
    });
    await eventually(
      async () => expect(await written()).toMatchObject({ tables: 1, projections: 1 }),
      {
        timeoutMs: 60_000,
      },
    );
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });
});
