import type { Projection } from '@refract/core';
import { registerProjection } from '@refract/projector';
import { applyRaw } from './baselines/raw-projector.js';
import { untilCaughtUp } from './checkpoints.js';
import type { ServiceOrigin } from './child.js';
import { settle } from './event-log.js';
import { measured } from './phase.js';
import type { BenchPlan } from './plan.js';
import { say } from './progress.js';
import { spawnWorkers } from './projector-workers.js';
import { resetProjections, verifyReadModels } from './read-models.js';
import { type RelayKind, relayCheckpoint, startRelay } from './relay-runner.js';
import type { BenchStack } from './stack.js';
import { perSecond } from './stats.js';
import type { StoredLog } from './stored-log.js';

/**
 * Has a relay publish the stored log to Redis under `keyPrefix` and stops
 * it: workers read Postgres only up to the relay's checkpoint (what is
 * commit-safe), so a log nobody published is a log they cannot project.
 */
export async function publishLog(
  stack: BenchStack,
  relayKind: RelayKind,
  keyPrefix: string,
  head: number,
  timeLimitMs: number,
): Promise<void> {
  const relay = await startRelay(stack, relayKind, keyPrefix);
  try {
    const deadline = performance.now() + timeLimitMs;
    while (((await relayCheckpoint(stack.db)) ?? 0) < head) {
      if (performance.now() > deadline)
        throw new Error('the relay did not publish the log in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await relay.stop();
  }
  say(`published ${head.toLocaleString('en-US')} events under ${keyPrefix} (relay: ${relayKind})`);
}

/**
 * The raw projector baseline over a stored log: the projections registered
 * here (not timed), the events applied by applyRaw, the tables checked
 * against the fold, then every projection removed again.
 */
export async function measureRawProjector(
  stack: BenchStack,
  plan: BenchPlan,
  phase: string,
  log: StoredLog,
  projections: readonly Projection[],
) {
  for (const projection of projections) {
    await registerProjection(stack.db, projection, stack.partitions);
  }
  await settle(stack.db);
  const raw = await measured(phase, () =>
    applyRaw({
      phase,
      databaseUrl: stack.databaseUrl,
      projections,
      batchSize: plan.projector.batchSize,
      head: log.head,
      timeLimitMs: plan.phaseTimeoutMs,
    }),
  );
  await verifyReadModels(
    stack.db,
    phase,
    log.events,
    projections.map((p) => p.name as 'order_summary' | 'customer_stats'),
  );
  say(
    `[${phase}] verified: the tables equal the fold of the ${log.head.toLocaleString('en-US')} events`,
  );
  await resetProjections(stack.db);
  return { eventsPerSec: perSecond(log.head, raw.ms), seconds: raw.ms / 1000, cpu: raw.cpu };
}

export interface WorkerCatchUp {
  eventsPerSec: number;
  seconds: number;
  /** Spawn to head, start-up included. */
  secondsFromSpawn: number;
  workerPeakRssMb: number[];
  /** Whether the workers ran their build (as in production) or their source through tsx. */
  workersFrom: ServiceOrigin;
  cpu: unknown;
}

/**
 * `workers` projector-worker processes over the stored, published log with
 * fresh projections; timed from their registration of the projections to
 * both projections' checkpoints at the head of every partition; then the
 * tables are checked against the fold and the projections removed.
 */
export async function measureWorkerCatchUp(
  stack: BenchStack,
  plan: BenchPlan,
  phase: string,
  log: StoredLog,
  keyPrefix: string,
  workers: number,
  {
    env,
    verify = async () => {
      await verifyReadModels(stack.db, phase, log.events);
      return 'both tables equal the fold';
    },
  }: {
    env?: Record<string, string>;
    /** Checks the outcome; says what it checked. @defaultValue both tables equal the fold */
    verify?: () => Promise<string>;
  } = {},
): Promise<WorkerCatchUp> {
  await resetProjections(stack.db);
  await settle(stack.db);
  const names = plan.projector.projections;
  let peaks: number[] = [];
  let secondsFromSpawn = 0;
  let workersFrom: ServiceOrigin = 'source';
  const run = await measured(phase, async () => {
    const pool = await spawnWorkers(stack, workers, {
      keyPrefix,
      projections: names,
      batchSize: plan.projector.batchSize,
      env,
    });
    workersFrom = pool.children[0]?.origin ?? 'source';
    try {
      const timing = await untilCaughtUp({
        db: stack.db,
        phase,
        projections: names,
        heads: log.heads,
        positionsByPartition: log.positionsByPartition,
        timeLimitMs: plan.phaseTimeoutMs,
        failure: pool.failure,
      });
      peaks = pool.peakRssMb();
      secondsFromSpawn = Math.round(timing.sinceCallMs) / 1000;
      return timing.ms;
    } finally {
      await pool.stop();
    }
  });
  const checked = await verify();
  say(`[${phase}] verified: ${checked}; worker peak RSS ${peaks.join(', ')} MB`);
  await resetProjections(stack.db);
  return {
    eventsPerSec: perSecond(log.head, run.ms),
    seconds: Math.round(run.ms) / 1000,
    secondsFromSpawn,
    workerPeakRssMb: peaks,
    workersFrom,
    cpu: run.cpu,
  };
}
