import type { ExpectedVersion, NewEvent } from '@refract/core';
import { EventStore } from '@refract/event-store';
import { entryIdOf, partitionStreamKey } from '@refract/stream-bus';
import { measureHopFloor } from './baselines/hop-floor.js';
import { resetLog, settle, VerificationError, verifyLog } from './event-log.js';
import { offerAtRate } from './open-loop.js';
import { logPartitions, verifyPartitionStreams } from './partition-streams.js';
import { PartitionTail } from './partition-tail.js';
import { measured } from './phase.js';
import { type BenchPlan, LATENCY_WARM_UP_SECONDS } from './plan.js';
import { say } from './progress.js';
import { type RelayKind, relayCheckpoint, startRelay } from './relay-runner.js';
import type { LatencyFigure } from './report-types.js';
import type { BenchStack } from './stack.js';
import { summarize } from './stats.js';
import { expectedVersionBefore, loadWorkload } from './workload.js';

const PHASE = 'fanout.latency';
/** After the last append, how long its entries get to show up in Redis. */
const DRAIN_MS = 10_000;

interface Append {
  /** Sent before the figure starts counting. */
  warmUp: boolean;
  streamId: string;
  expectedVersion: ExpectedVersion;
  event: NewEvent;
}

/**
 * Fan-out latency (issue 3): a relay publishing, appends at a steady rate
 * through the EventStore in this process (one event each), and a separate
 * Redis connection tailing every partition stream. Latency is from the
 * append's acknowledgement to the XREAD that returns its entry; an entry
 * can arrive before its acknowledgement has been processed here, which
 * counts as 0 (reported as visibleBeforeAck). Its baseline is the floor of
 * the same hops without the relay's logic (baselines/hop-floor.ts).
 */
export async function measureLatency(
  stack: BenchStack,
  plan: BenchPlan,
  relayKind: RelayKind,
): Promise<LatencyFigure> {
  const { latencyRatePerSec: rate, latencySeconds } = plan.fanout;
  const warmUp = rate * LATENCY_WARM_UP_SECONDS;
  const events = loadWorkload(plan.n, warmUp + rate * latencySeconds, stack.partitions);
  const appends: Append[] = events.map((event, index) => ({
    warmUp: index < warmUp,
    streamId: event.streamId,
    expectedVersion: expectedVersionBefore(event.version),
    event: { id: event.id, type: event.type, data: JSON.parse(event.dataJson) },
  }));

  await resetLog(stack.db);
  await settle(stack.db);
  const keyPrefix = stack.keyPrefix('latency');
  const relay = await startRelay(stack, relayKind, keyPrefix);
  const store = await EventStore.open({
    databaseUrl: stack.databaseUrl,
    applicationName: 'refract-bench-appender',
  });
  const closeStore = stack.defer('closing the event store', () => store.close());
  const tail = new PartitionTail(stack.redisUrl, keyPrefix, stack.partitions);
  await tail.start();
  const ackAt = new Map<number, number>();
  const warmUpPositions = new Set<number>();
  const appendMs: number[] = [];
  try {
    const phase = await measured(PHASE, async () => {
      const offered = await offerAtRate({
        phase: PHASE,
        items: appends,
        ratePerSec: rate,
        keyOf: (append) => append.streamId,
        send: async ({ streamId, expectedVersion, event }) =>
          (await store.append(streamId, [event], { expectedVersion })).lastPosition,
        onAck: (append, position, ms) => {
          ackAt.set(position, performance.now());
          if (append.warmUp) warmUpPositions.add(position);
          else appendMs.push(ms);
        },
      });
      return offered.ms;
    });
    const drainDeadline = performance.now() + DRAIN_MS;
    for (;;) {
      const missing = [...ackAt.keys()].filter((position) => !tail.seenAt.has(position));
      if (missing.length === 0) break;
      if (tail.failure !== undefined || performance.now() > drainDeadline) {
        throw new Error(
          `${missing.length} appended positions not seen in Redis ${DRAIN_MS / 1000} s after the last append: ${await explainMissing(stack, keyPrefix, missing)}${tail.failure ? `; the tail failed: ${String(tail.failure)}` : ''}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await tail.stop();
    await relay.stop();
    await closeStore();

    await verifyLog(stack.db, PHASE, events, { streamOrder: true });
    await verifyPartitionStreams(
      stack.redis,
      keyPrefix,
      stack.partitions,
      await logPartitions(stack.db),
      PHASE,
    );
    if (tail.duplicates.length > 0) {
      throw new VerificationError(PHASE, `read twice: ${tail.duplicates.slice(0, 5).join(', ')}`);
    }
    say(`[${PHASE}] verified: every position in Redis exactly once, ascending per partition`);
    await stack.dropKeys(keyPrefix);

    const samples: number[] = [];
    let visibleBeforeAck = 0;
    for (const [position, acked] of ackAt) {
      if (warmUpPositions.has(position)) continue;
      const latency = tail.seenAt.get(position)! - acked;
      if (latency < 0) visibleBeforeAck += 1;
      samples.push(Math.max(0, latency));
    }
    const append = summarize(appendMs);
    // The same appends, the same rate and the same processes, through the
    // hops alone: what this machine allows before any of the relay's work.
    const floor = await measureHopFloor(stack, `${PHASE}.floor`, events, {
      ratePerSec: rate,
      warmUp,
    });
    return {
      ...summarize(samples),
      floor,
      events: samples.length,
      warmUpAppends: warmUp,
      offeredPerSec: rate,
      achievedPerSec: Math.round((events.length * 1000) / phase.ms),
      visibleBeforeAck,
      appendAckMs: { p50: append.p50, p99: append.p99, max: append.max },
      relay: relayKind,
      cpu: phase.cpu,
    };
  } finally {
    await tail.stop().catch(() => {});
    await relay.stop();
  }
}

/**
 * For a failure message: where the relay is, and for the first missing
 * positions whether Redis has them (then the tail missed them) or not (then
 * the relay did not publish them).
 */
async function explainMissing(
  stack: BenchStack,
  keyPrefix: string,
  missing: number[],
): Promise<string> {
  const first = missing.sort((a, b) => a - b).slice(0, 5);
  const rows = await stack.db.query<{ position: number; partition: number }>(
    'SELECT position, partition FROM refract.events WHERE position = ANY ($1)',
    [first],
  );
  const found = await Promise.all(
    rows.rows.map(async ({ position, partition }) => {
      const id = entryIdOf(position);
      const entries = await stack.redis.xrange(partitionStreamKey(keyPrefix, partition), id, id);
      return `${position} (partition ${partition}, ${entries.length > 0 ? 'in Redis' : 'not in Redis'})`;
    }),
  );
  return `${found.join(', ')}; relay checkpoint ${await relayCheckpoint(stack.db)}`;
}
