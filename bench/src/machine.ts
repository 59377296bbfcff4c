import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import type { BenchStack } from './stack.js';

export interface MachineInfo {
  cpus: number;
  node: string;
  postgres: string;
  redis: string;
  cpuModel: string;
  memoryGb: number;
  synchronousCommit: string;
}

/** What the figures were measured on. */
export async function machineInfo(stack: BenchStack): Promise<MachineInfo> {
  const settings = await stack.db.query<{ version: string; sync: string }>(
    "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync",
  );
  const info = await stack.redis.info('server');
  return {
    cpus: cpus().length,
    node: process.version,
    postgres: settings.rows[0]!.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    synchronousCommit: settings.rows[0]!.sync,
  };
}

export interface Revision {
  /** Short sha of HEAD. */
  sha: string;
  /** The work tree had changes: the figures are of HEAD plus those. */
  dirty: boolean;
}

export function revision(cwd: string): Revision {
  const git = (...args: string[]) => execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
  try {
    return { sha: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain') !== '' };
  } catch {
    return { sha: 'unknown', dirty: true };
  }
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
export function loadAverage(): string {
  return loadavg()
    .map((load) => load.toFixed(2))
    .join(', ');
}
