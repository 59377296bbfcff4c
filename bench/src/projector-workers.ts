import { readFileSync } from 'node:fs';
import { freePort } from '@refract/testing';
import { type ChildService, SERVICE_DIRS, spawnService } from './child.js';
import type { BenchStack } from './stack.js';

const START_TIMEOUT_MS = 60_000;

export interface WorkerSettings {
  /** The prefix the relay publishes under: the workers read its partition streams. */
  keyPrefix: string;
  /** Projection names (PROJECTIONS); both of the `orders` pool. */
  projections: readonly string[];
  batchSize: number;
  /** More of the workers' environment. */
  env?: Record<string, string>;
}

export interface RunningWorkers {
  readonly children: readonly ChildService[];
  readonly origins: readonly string[];
  /** The first worker that exited on its own, as an error (the phase cannot finish). */
  failure(): Error | undefined;
  /** Resolves once every worker answers /readyz and together they own every partition. */
  untilOwningAll(partitions: number, timeoutMs?: number): Promise<void>;
  /** Peak resident memory (VmHWM) of each worker process so far, in MB. */
  peakRssMb(): number[];
  stop(): Promise<void>;
}

/** How long the partitions' owners must stay the same: two of the workers' heartbeats. */
const SETTLED_MS = 2_000;

/**
 * `count` services/projector-worker processes of pool `orders`, each on a
 * free loopback port, spawned at once and not waited for: a catch-up is
 * timed from the moment they register the projections.
 */
export async function spawnWorkers(
  stack: BenchStack,
  count: number,
  settings: WorkerSettings,
): Promise<RunningWorkers> {
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const children = ports.map((port, index) =>
    spawnService(`worker-${index + 1}`, SERVICE_DIRS.projectorWorker, {
      DATABASE_URL: stack.databaseUrl,
      REDIS_URL: stack.redisUrl,
      REDIS_KEY_PREFIX: settings.keyPrefix,
      POOL: 'orders',
      PROJECTIONS: settings.projections.join(','),
      WORKER_BATCH_SIZE: String(settings.batchSize),
      WORKER_PORT: String(port),
      WORKER_HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...settings.env,
    }),
  );
  const stopAll = stack.defer('stopping projector workers', async () => {
    await Promise.all(children.map((child) => child.stop()));
  });
  const origins = ports.map((port) => `http://127.0.0.1:${port}`);
  return {
    children,
    origins,
    failure: () => {
      const gone = children.find((child) => child.exited());
      return gone
        ? new Error(`${gone.name} exited during the phase:\n${gone.recentOutput()}`)
        : undefined;
    },
    async untilOwningAll(partitions, timeoutMs = START_TIMEOUT_MS) {
      const owned = new Map<string, number[]>();
      await Promise.all(
        children.map((child, index) =>
          child.waitUntil(async () => {
            const response = await fetch(`${origins[index]}/readyz`);
            if (response.status !== 200) return false;
            const body = (await response.json()) as { partitions: number[] };
            owned.set(child.name, body.partitions);
            return true;
          }, timeoutMs),
        ),
      );
      // Ownership settles over a few heartbeats as the members see each other:
      // a partition handed over waits for its new owner's next heartbeat, up
      // to a second without a runner. Measuring from the first moment every
      // worker held something counted such hand-overs as ~1 s of lag, so the
      // ownership must also have stayed the same for two heartbeats.
      const deadline = performance.now() + timeoutMs;
      let unchangedSince = performance.now();
      let previous = '';
      for (;;) {
        const all = new Set<number>();
        for (const [index, origin] of origins.entries()) {
          const response = await fetch(`${origin}/readyz`);
          const body = (await response.json()) as { partitions?: number[] };
          for (const partition of body.partitions ?? []) all.add(partition);
          owned.set(children[index]!.name, body.partitions ?? []);
        }
        const balanced = count === 1 || [...owned.values()].every((list) => list.length > 0);
        const held = [...owned.values()].reduce((sum, list) => sum + list.length, 0);
        const snapshot = JSON.stringify([...owned.values()]);
        if (snapshot !== previous) {
          previous = snapshot;
          unchangedSince = performance.now();
        }
        const settled = performance.now() - unchangedSince >= SETTLED_MS;
        if (all.size === partitions && held === partitions && balanced && settled) return;
        if (performance.now() > deadline) {
          throw new Error(
            `the workers own ${all.size} of ${partitions} partitions after ${timeoutMs / 1000} s`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    peakRssMb: () => children.map((child) => peakRssMb(child.pid)),
    stop: stopAll,
  };
}

/** VmHWM of a process from /proc, in MB (0 when it is gone or /proc has no such field). */
export function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return parseVmHwmMb(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return 0;
  }
}

/** The VmHWM line of /proc/<pid>/status (in kB) as MB to one decimal. */
export function parseVmHwmMb(status: string): number {
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Math.round(Number(match[1]) / 102.4) / 10 : 0;
}
