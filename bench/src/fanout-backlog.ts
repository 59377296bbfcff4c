import { readEntries, xaddPipelined } from './baselines/pipelined-xadd.js';
import { verifyPartitionStreams } from './partition-streams.js';
import { measured, type PhaseMeasurement } from './phase.js';
import type { BenchPlan } from './plan.js';
import { Progress, say } from './progress.js';
import { type RelayKind, relayCheckpoint, startRelay } from './relay-runner.js';
import type { ThroughputFigure } from './report-types.js';
import { PhaseTimeoutError } from './run-ordered.js';
import type { BenchStack } from './stack.js';
import { throughput } from './stats.js';
import { storeLog } from './stored-log.js';

const PHASE = 'fanout.backlog';
/** How often the relay's checkpoint is read while it works through the backlog. */
const POLL_MS = 5;

/**
 * Backlog publication (issue 3): N events already stored, a relay started
 * from checkpoint 0, timed from the moment it leads (its checkpoint row
 * appears) until its checkpoint reaches the head. Baseline: the same
 * entries written by pipelined XADD from one process to a fresh prefix.
 */
export async function measureBacklog(
  stack: BenchStack,
  plan: BenchPlan,
  relayKind: RelayKind,
): Promise<ThroughputFigure> {
  const { backlogEvents, xaddPipelineSize } = plan.fanout;
  const { head, partitionOf } = await storeLog(stack, plan, PHASE, backlogEvents);

  say(
    `[${PHASE}.baseline] reading the ${head.toLocaleString('en-US')} entries from Postgres (not timed)`,
  );
  const baselinePrefix = stack.keyPrefix('backlog-baseline');
  const entries = await readEntries(stack.db);
  const baseline = await measured(`${PHASE}.baseline`, () =>
    xaddPipelined(stack.redisUrl, entries, {
      phase: `${PHASE}.baseline`,
      keyPrefix: baselinePrefix,
      pipelineSize: xaddPipelineSize,
      timeLimitMs: plan.phaseTimeoutMs,
    }),
  );
  entries.length = 0;
  await verifyPartitionStreams(
    stack.redis,
    baselinePrefix,
    stack.partitions,
    partitionOf,
    `${PHASE}.baseline`,
  );
  await stack.dropKeys(baselinePrefix);

  const keyPrefix = stack.keyPrefix('backlog');
  let stopRelay: (() => Promise<void>) | undefined;
  let published: PhaseMeasurement;
  try {
    published = await measured(PHASE, async (begin) => {
      const relay = await startRelay(stack, relayKind, keyPrefix);
      stopRelay = relay.stop;
      begin();
      return untilPublished(stack, head, plan.phaseTimeoutMs, relayKind);
    });
  } finally {
    await stopRelay?.();
  }
  await verifyPartitionStreams(stack.redis, keyPrefix, stack.partitions, partitionOf, PHASE);
  say(`[${PHASE}] verified: every position in Redis exactly once, ascending per partition`);
  await stack.dropKeys(keyPrefix);

  return {
    ...throughput(head, published.ms, baseline.ms),
    baselinePipelineSize: xaddPipelineSize,
    relay: relayKind,
    cpu: published.cpu,
    baselineCpu: baseline.cpu,
  };
}

/** Reads the relay's checkpoint every few ms until it reaches `head`; returns the elapsed milliseconds. */
async function untilPublished(
  stack: BenchStack,
  head: number,
  timeLimitMs: number,
  relayKind: RelayKind,
): Promise<number> {
  const started = performance.now();
  const progress = new Progress(PHASE, head);
  try {
    let published = 0;
    while (published < head) {
      if (performance.now() - started > timeLimitMs)
        throw new PhaseTimeoutError(PHASE, timeLimitMs);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const checkpoint = (await relayCheckpoint(stack.db)) ?? 0;
      progress.add(checkpoint - published);
      published = checkpoint;
    }
    const elapsed = performance.now() - started;
    progress.finish(`relay: ${relayKind}`);
    return elapsed;
  } catch (error) {
    progress.abort();
    throw error;
  }
}
