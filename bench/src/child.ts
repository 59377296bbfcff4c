import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pinnedCommand } from './cores.js';
import { say } from './progress.js';

/** The repository root: services are spawned from there, where tsx resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The services the harness spawns, as directories of the repository. */
export const SERVICE_DIRS = {
  writeApi: 'services/write-api',
  relay: 'services/relay',
  admin: 'services/admin',
  projectorWorker: 'services/projector-worker',
} as const;

let profileDir: string | undefined;

/**
 * `--cpu-prof <dir>`: every service and floor server started from now on
 * writes a V8 CPU profile (`node --cpu-prof`) into `dir` when it exits.
 */
export function profileInto(dir: string | undefined): void {
  profileDir = dir;
}

/** The node flags that write a CPU profile, when `--cpu-prof` asked for them. */
export function profileFlags(): string[] {
  return profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
}

/** How a service is started: `dist` is what production runs, `source` goes through tsx. */
export type ServiceOrigin = 'dist' | 'source';

function scripts(serviceDir: string): Record<string, string> {
  try {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, serviceDir, 'package.json'), 'utf8'));
    return manifest.scripts ?? {};
  } catch {
    return {};
  }
}

function hasBuildScript(serviceDir: string): boolean {
  return typeof scripts(serviceDir).build === 'string';
}

/** The node flags of the service's `start` script (`node <flags> dist/main.js`), as production passes them. */
function startFlags(serviceDir: string): string[] {
  const start = /^node\s+(.*?)\s*dist\/main\.js$/.exec(scripts(serviceDir).start ?? '');
  return start?.[1] ? start[1].split(/\s+/) : [];
}

/**
 * The node arguments that start a service: its build (`node dist/main.js`
 * with the flags of its `start` script, no source condition, as production
 * runs it) when it has
 * a build script and dist/main.js exists, else its source through tsx (a
 * service without a build is started that way in production too). The
 * loader and its compile cache would otherwise sit in the measured
 * process's memory and start-up.
 */
export function serviceArgs(serviceDir: string): { args: string[]; origin: ServiceOrigin } {
  const dist = join(REPO_ROOT, serviceDir, 'dist/main.js');
  if (hasBuildScript(serviceDir) && existsSync(dist)) {
    return { args: [...startFlags(serviceDir), dist], origin: 'dist' };
  }
  return {
    args: [
      '--conditions=@refract/source',
      '--import',
      'tsx',
      join(REPO_ROOT, serviceDir, 'src/main.ts'),
    ],
    origin: 'source',
  };
}

/**
 * Builds the spawned services and the packages they depend on (turbo, cached:
 * a second run with nothing changed takes a second or two), so every run
 * spawns a dist of the code it is run on, never a stale one. Throws when the
 * build fails: measuring the source instead would measure something else.
 */
export function buildServices(): void {
  const filters = [...Object.values(SERVICE_DIRS), 'examples/orders']
    .filter(hasBuildScript)
    .map((dir) => `--filter=./${dir}`);
  say(`building the services, the orders example and their packages (turbo run build)`);
  const started = performance.now();
  const result = spawnSync(
    'pnpm',
    ['exec', 'turbo', 'run', 'build', ...filters, '--output-logs=errors-only'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (result.status !== 0) {
    throw new Error(
      `the build failed (${result.error ?? `exit ${result.status}`}):\n${result.stdout}${result.stderr}`,
    );
  }
  say(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const STOP_GRACE_MS = 10_000;
const KEEP_LINES = 20;

/** A service of the repository running as its own process. */
export interface ChildService {
  readonly name: string;
  /** Whether it runs its build or its source (see serviceArgs). */
  readonly origin: ServiceOrigin;
  /** The node process itself (no wrapper): what /proc/<pid>/status describes. */
  readonly pid: number | undefined;
  /**
   * Resolves once ready() says so, polled every `intervalMs`; rejects when
   * the process exits first or the time is up.
   */
  waitUntil(ready: () => Promise<boolean>, timeoutMs: number, intervalMs?: number): Promise<void>;
  /** The process has ended (on its own or stopped). */
  exited(): boolean;
  /** Its last lines of output, to explain an exit. */
  recentOutput(): string;
  /** SIGTERM, then SIGKILL after a grace period. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns the service in `serviceDir` (see serviceArgs) with the given
 * environment on top of ours. Its output is forwarded to stderr line by line
 * with its name in front, and the last lines are kept to explain an early
 * exit.
 */
/**
 * The orders example's application module (the reference workload is its
 * domain), as built JavaScript: a TypeScript module would load through tsx,
 * whose loader thread alone adds about 40 MB to every process measured.
 */
export const BENCH_APP_CONFIG = join(REPO_ROOT, 'bench/orders.config.mjs');

export function spawnService(
  name: string,
  serviceDir: string,
  env: Record<string, string>,
): ChildService {
  const { args, origin } = serviceArgs(serviceDir);
  // taskset execs the command: the child's pid is the service's own.
  const [command, commandArgs] = pinnedCommand(process.execPath, [...profileFlags(), ...args]);
  const child = spawn(command, commandArgs, {
    cwd: REPO_ROOT,
    // Every service runs the reference workload's module, as a user's would run theirs.
    env: { ...process.env, REFRACT_CONFIG: BENCH_APP_CONFIG, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const recent: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream! }).on('line', (line) => {
      recent.push(line);
      if (recent.length > KEEP_LINES) recent.shift();
      say(`[${name}] ${line}`);
    });
  }
  let ended = false;
  const exited = new Promise<void>((resolve) => {
    const end = () => {
      ended = true;
      resolve();
    };
    child.once('exit', end);
    // Spawning itself failed: there is no process to wait for.
    child.once('error', (error) => {
      recent.push(String(error));
      end();
    });
  });
  let stopping: Promise<void> | undefined;

  return {
    name,
    origin,
    pid: child.pid,
    exited: () => ended,
    recentOutput: () => recent.join('\n'),
    async waitUntil(ready, timeoutMs, intervalMs = 50) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        if (ended) {
          const how = child.exitCode ?? child.signalCode;
          throw new Error(`${name} exited (${how}) before it was ready:\n${recent.join('\n')}`);
        }
        if (await ready().catch(() => false)) return;
        if (performance.now() > deadline) {
          throw new Error(`${name} was not ready within ${timeoutMs / 1000} s`);
        }
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
    stop() {
      stopping ??= (async () => {
        if (ended) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
