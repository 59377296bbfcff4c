import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { StackInfo } from './stack.js';

/** The script in the data directory that adds a worker to a pool of the running stack. */
export const ADD_WORKER_FILE = 'add-worker';

export interface AddWorkerScript {
  path: string;
  /** The pool and port it uses when given none. */
  pool: string;
  port: number;
}

/**
 * Writes `<dataDir>/add-worker`: one command that starts one more projector
 * worker (`<cli> worker`) on the stack's Postgres, Redis, key prefix and
 * application module, so a developer can watch a pool rebalance. The worker
 * is a process of the terminal it is run in, not of the stack: stopping it
 * (Ctrl-C) hands its partitions back. Rewritten at each start, since the
 * ports of an embedded Postgres or a local redis-server may change; owner-only,
 * as it holds the database URL with its password.
 */
export async function writeAddWorker(
  info: StackInfo,
  {
    dataDir,
    workDir,
    cli,
    nextPort,
  }: { dataDir: string; workDir: string; cli: string; nextPort: number },
): Promise<AddWorkerScript | undefined> {
  const pool = info.pools[0]?.pool;
  if (pool === undefined) return undefined;
  const path = join(dataDir, ADD_WORKER_FILE);
  const vars = {
    DATABASE_URL: info.postgres.url,
    REDIS_URL: info.redis.url,
    REDIS_KEY_PREFIX: info.redis.keyPrefix,
    REFRACT_CONFIG: info.app.path,
    WORKER_HOST: '127.0.0.1',
  };
  const script = [
    '#!/bin/sh',
    '# Written by the Refract dev stack at each start: one more projector worker',
    '# for a pool of the running stack, in this terminal (Ctrl-C stops it).',
    `# Usage: ${path} [pool] [port]   (pools: ${info.pools.map((p) => p.pool).join(', ')})`,
    'set -e',
    ...Object.entries(vars).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    `export POOL="\${1:-${pool}}" WORKER_PORT="\${2:-${nextPort}}"`,
    `cd ${shellQuote(workDir)}`,
    `exec ${cli} worker`,
    '',
  ].join('\n');
  await mkdir(dataDir, { recursive: true });
  await writeFile(path, script, { mode: 0o700 });
  return { path, pool, port: nextPort };
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
