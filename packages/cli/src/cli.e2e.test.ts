import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '@refract/event-store';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobInfo, ProjectionInfo } from './admin-types.js';
import { ExitCode } from './exit-codes.js';

const BIN = fileURLToPath(new URL('./bin/refract.ts', import.meta.url));
const TOKEN = 'cli-e2e-admin-token-0123456789';
const ORDERS = 40;

let db: TestDatabase;
let ns: TestRedisNamespace;
let dataDir: string;
const services: ServiceProcess[] = [];
let adminUrl: string;

beforeAll(async () => {
  db = await createTestDatabase('cli_e2e');
  ns = createTestRedisNamespace('cli-e2e');
  // No `pnpm start` token file may stand in for the one each test passes.
  dataDir = await mkdtemp(join(tmpdir(), 'refract-cli-e2e-'));
  await migrate({ databaseUrl: db.url, partitions: 4 });
  const shared = { DATABASE_URL: db.url, REDIS_URL: ns.url, REDIS_KEY_PREFIX: ns.prefix };
  const [writePort, workerPort, adminPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
  ]);
  const writeApi = `http://127.0.0.1:${writePort}`;
  adminUrl = `http://127.0.0.1:${adminPort}`;
  services.push(
    await startServiceProcess(
      serviceMain('write-api'),
      {
        ...shared,
        WRITE_API_PORT: String(writePort),
        WRITE_API_HOST: '127.0.0.1',
        RELAY_MODE: 'embedded',
      },
      `${writeApi}/readyz`,
      { timeoutMs: 90_000 },
    ),
    await startServiceProcess(
      serviceMain('projector-worker'),
      { ...shared, POOL: 'orders', WORKER_PORT: String(workerPort), WORKER_HOST: '127.0.0.1' },
      `http://127.0.0.1:${workerPort}/readyz`,
      { timeoutMs: 90_000 },
    ),
    await startServiceProcess(
      serviceMain('admin'),
      { ...shared, ADMIN_PORT: String(adminPort), ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: TOKEN },
      `${adminUrl}/readyz`,
      { timeoutMs: 90_000 },
    ),
  );
  for (let i = 0; i < ORDERS; i++) {
    const response = await fetch(`${writeApi}/commands/PlaceOrder`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: `cli-${i}`, customerId: `customer-${i % 7}` }),
    });
    expect(response.status).toBe(200);
  }
}, 300_000);

afterAll(async () => {
  for (const service of services.reverse()) await service.stop();
  await ns?.cleanup();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `refract <args>` as a child process, the way an operator or a script runs it. */
function refract(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', BIN, ...args],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        REFRACT_ADMIN_URL: adminUrl,
        REFRACT_ADMIN_TOKEN: TOKEN,
        REFRACT_DATA_DIR: dataDir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function projections(): Promise<ProjectionInfo[]> {
  const run = await refract(['status', '--json']);
  expect(run.code, run.stderr).toBe(ExitCode.ok);
  return (JSON.parse(run.stdout) as { projections: ProjectionInfo[] }).projections;
}

describe('refract against the real admin service', () => {
  it('status shows both projections caught up, the worker and the relay', async () => {
    await eventually(
      async () => {
        const all = await projections();
        expect(all.map((p) => p.name).sort()).toEqual(['customer_stats', 'order_summary']);
        expect(all.every((p) => p.lagEvents === 0 && p.headPosition >= ORDERS)).toBe(true);
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const run = await refract(['status']);
    expect(run.code, run.stderr).toBe(ExitCode.ok);
    expect(run.stdout).toMatch(/^customer_stats\s+1\s+orders\s+running\s+0\s/m);
    expect(run.stdout).toMatch(/^order_summary\s+1\s+orders\s+running\s+0\s/m);
    expect(run.stdout).toMatch(/\sorders\s.*\s4: 0-3\s/);
    expect(run.stdout).toContain('relay: leader pid');
  });

  it('pause and resume change the projection status', async () => {
    const paused = await refract(['pause', 'customer_stats']);
    expect(paused.code, paused.stderr).toBe(ExitCode.ok);
    expect(paused.stdout).toBe('projection "customer_stats" paused\n');
    expect((await projections()).find((p) => p.name === 'customer_stats')!.status).toBe('paused');
    const resumed = await refract(['resume', 'customer_stats']);
    expect(resumed.code, resumed.stderr).toBe(ExitCode.ok);
    expect((await projections()).find((p) => p.name === 'customer_stats')!.status).toBe('running');
  });

  it('rebuild --watch follows the job to completed and exits 0; job shows it afterwards', async () => {
    const run = await refract(['rebuild', 'customer_stats', '--watch', '--json']);
    expect(run.code, run.stderr).toBe(ExitCode.ok);
    const job = JSON.parse(run.stdout) as JobInfo;
    expect(job).toMatchObject({ projection: 'customer_stats', state: 'completed' });
    expect(job.processed).toBeGreaterThanOrEqual(ORDERS);
    // No terminal: plain progress lines on stderr, ending with the final state.
    expect(run.stderr).toContain(`rebuild of "customer_stats" started: job ${job.jobId}`);
    expect(run.stderr).toMatch(/completed/);
    const again = await refract(['job', job.jobId]);
    expect(again.code, again.stderr).toBe(ExitCode.ok);
    expect(again.stdout).toContain(`job ${job.jobId}  customer_stats  completed`);
    await eventually(
      async () =>
        expect((await projections()).find((p) => p.name === 'customer_stats')!.version).toBe(2),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  it('a missing or wrong token exits 4, an unknown projection 5, an unreachable admin 3', async () => {
    const wrong = await refract(['status'], { REFRACT_ADMIN_TOKEN: 'not-the-token-at-all' });
    expect(wrong.code).toBe(ExitCode.unauthorized);
    // Admin answers 401 without a token and 403 for a wrong one; both exit 4.
    expect(wrong.stderr).toMatch(/admin refused the token \(40[13]/);
    const none = await refract(['status'], { REFRACT_ADMIN_TOKEN: '' });
    expect(none.code).toBe(ExitCode.unauthorized);
    expect(none.stderr).toContain('admin wants a token');
    expect(wrong.stdout).toBe('');
    const missing = await refract(['pause', 'no_such_projection']);
    expect(missing.code).toBe(ExitCode.notFound);
    expect(missing.stderr).toContain('projection "no_such_projection" not found');
    const down = await refract(['status', '--url', `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(ExitCode.unreachable);
  });

  it('parked lists none for a healthy projection', async () => {
    const run = await refract(['parked', 'order_summary']);
    expect(run.code, run.stderr).toBe(ExitCode.ok);
    expect(run.stdout).toBe('no parked events in "order_summary"\n');
  });
});
