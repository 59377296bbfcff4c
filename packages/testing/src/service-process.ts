import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from './eventually.js';

/** The repository root (with a trailing slash): services run from there, where tsx and the workspace resolve. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The orders example's application module: what a spawned service loads
 * unless the test's environment names another (REFRACT_CONFIG).
 */
export const ORDERS_APP_CONFIG = join(REPO_ROOT, 'examples', 'orders', 'refract.config.ts');

/** The entry point of a service in this repository: `services/<name>/src/main.ts`. */
export function serviceMain(name: string): string {
  return join(REPO_ROOT, 'services', name, 'src', 'main.ts');
}

export interface ServiceProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
}

export interface ServiceProcessOptions {
  /** How long to wait for `readyUrl` to answer 200. @defaultValue 30000 */
  timeoutMs?: number;
  /**
   * Appends the process's stdout and stderr to this file (created with its
   * directory), for diagnosis after a failure. Without it, stdout is dropped
   * and stderr goes to the test's stderr.
   */
  logFile?: string;
}

/**
 * Runs a service's `main.ts` as a real process (TypeScript through tsx, the
 * workspace's source condition) and waits until `readyUrl` answers 200. The
 * services that run an application module get the orders example's unless
 * `env` sets REFRACT_CONFIG.
 */
export async function startServiceProcess(
  main: string,
  env: Record<string, string>,
  readyUrl: string,
  { timeoutMs = 30_000, logFile }: ServiceProcessOptions = {},
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ['--conditions=@refract/source', '--import', 'tsx', main], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      LOG_LEVEL: 'warn',
      REFRACT_CONFIG: ORDERS_APP_CONFIG,
      ...env,
    },
    stdio: ['ignore', logFile ? 'pipe' : 'ignore', logFile ? 'pipe' : 'inherit'],
  });
  if (logFile) {
    mkdirSync(dirname(logFile), { recursive: true });
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    child.once('close', () => log.end());
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`${main} exited with ${child.exitCode}`);
        const response = await fetch(readyUrl);
        if (response.status !== 200) throw new Error(`${readyUrl} answered ${response.status}`);
      },
      { timeoutMs },
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    child,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
