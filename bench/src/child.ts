import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { say } from './progress.js';

/** The repository root: services are spawned from there, where tsx resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const STOP_GRACE_MS = 10_000;
const KEEP_LINES = 20;

/** A service of the repository running as its own process, from its TypeScript source. */
export interface ChildService {
  readonly name: string;
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
 * Spawns `node --conditions=@refract/source --import tsx <entry>` with the
 * given environment on top of ours. Its output is forwarded to stderr line
 * by line with its name in front, and the last lines are kept to explain an
 * early exit.
 */
export function spawnService(
  name: string,
  entry: string,
  env: Record<string, string>,
): ChildService {
  const child = spawn(
    process.execPath,
    ['--conditions=@refract/source', '--import', 'tsx', entry],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
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
