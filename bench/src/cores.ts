import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import type pg from 'pg';
import { say } from './progress.js';

const run = promisify(execFile);

/**
 * `--cores 1,2`: the core counts to pin the system under test to, one pass
 * of the run each, ascending, no repeats; each at most this machine's cores.
 */
export function parseCores(text: string, machineCores = availableParallelism()): number[] {
  const counts = text.split(',').map((part) => Number(part.trim()));
  for (const count of counts) {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new Error(`--cores: "${text}" must be a comma-separated list of positive integers`);
    }
    if (count > machineCores) {
      throw new Error(`--cores: ${count} is more than this machine's ${machineCores} cores`);
    }
  }
  return [...new Set(counts)].sort((a, b) => a - b);
}

/** The first `cores` cores, in taskset's list syntax. */
export function cpuList(cores: number): string {
  return cores === 1 ? '0' : `0-${cores - 1}`;
}

/**
 * What the system under test is pinned to in this pass: the services and
 * floor servers the harness spawns (through `pinnedCommand`), and the
 * Postgres backends of the run's database (by `pinBackendsDuring`). Not the
 * bench process (the load generator, an in-process relay), not the
 * postmaster and the other users' backends (the server is shared), not Redis.
 */
interface Pinning {
  cores: number;
  cpus: string;
  db: pg.Pool;
  databaseName: string;
}

let pinning: Pinning | undefined;

/** Pins what starts from now on to the first `cores` cores; undefined unpins. */
export function pinTo(
  cores: number | undefined,
  target: { db: pg.Pool; databaseName: string },
): void {
  pinning = cores === undefined ? undefined : { cores, cpus: cpuList(cores), ...target };
}

/** The cores the system under test is pinned to, or undefined when it is not. */
export function pinnedCores(): number | undefined {
  return pinning?.cores;
}

/** A command and its arguments, run through `taskset` while a pinning holds. */
export function pinnedCommand(command: string, args: string[]): [string, string[]] {
  if (!pinning) return [command, args];
  return ['taskset', ['-c', pinning.cpus, command, ...args]];
}

const PIN_EVERY_MS = 200;

/**
 * While a pinning holds, pins the run database's Postgres backends now and
 * then every 200 ms until the returned function is called (pools open
 * connections during a phase), each backend once. A no-op without pinning.
 */
export async function pinBackendsDuring(): Promise<() => Promise<void>> {
  const current = pinning;
  if (!current) return async () => {};
  const pinned = new Set<number>();
  const pinNew = async () => {
    const { rows } = await current.db.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1',
      [current.databaseName],
    );
    for (const { pid } of rows) {
      if (pinned.has(pid)) continue;
      pinned.add(pid);
      // A backend that ended meanwhile cannot be pinned, and needs not be.
      await run('taskset', ['-a', '-p', '-c', current.cpus, String(pid)]).catch(() => {});
    }
  };
  let pass = pinNew();
  const tick = () => {
    pass = pass.then(pinNew).catch((error: unknown) => {
      say(`pinning Postgres backends failed: ${(error as Error).message}`);
    });
  };
  await pass;
  const timer = setInterval(tick, PIN_EVERY_MS);
  return async () => {
    clearInterval(timer);
    await pass;
  };
}
