import { measureHopFloor } from './baselines/hop-floor.js';
import { type Ack, CheckpointListener, visibilityLags } from './checkpoint-listener.js';
import { untilLogApplied } from './checkpoints.js';
import { resetLog, settle, VerificationError, verifyLog } from './event-log.js';
import { offerAtRate } from './open-loop.js';
import { measured } from './phase.js';
import { type BenchPlan, LATENCY_WARM_UP_SECONDS } from './plan.js';
import { say } from './progress.js';
import { spawnWorkers } from './projector-workers.js';
import { resetProjections, verifyReadModels } from './read-models.js';
import type { LatencyFigure } from './report-types.js';
import { startWriteApi } from './services.js';
import type { BenchStack } from './stack.js';
import { summarize } from './stats.js';
import { loadWorkload } from './workload.js';
import { type PreparedAppend, prepareAppend, WriteApiClient } from './write-api-client.js';

const PHASE = 'projector.liveLag';
/** After the last append, how long the workers get to apply everything. */
const DRAIN_MS = 30_000;

/**
 * Live lag (issue 4): write-api as a process with its relay inside, the
 * workers running and owning every partition, one event per request offered
 * at a steady rate. Visibility is taken from the checkpoint channel (LISTEN),
 * not by polling order_summary: the notification is sent by the very
 * transaction that writes the row and delivered when it commits, so it marks
 * the moment the row is visible without adding a query per sample to the
 * load being measured, and without a polling interval in the figure. Every
 * append is a sample.
 */
export async function measureLiveLag(stack: BenchStack, plan: BenchPlan): Promise<LatencyFigure> {
  const { liveRatePerSec: rate, liveSeconds, liveWorkers } = plan.projector;
  const warmUp = rate * LATENCY_WARM_UP_SECONDS;
  const events = loadWorkload(plan.n, warmUp + rate * liveSeconds, stack.partitions);
  const requests = events.map((event) => ({
    event,
    request: prepareAppend({ streamId: event.streamId, events: [event] }),
  }));
  await resetLog(stack.db);
  await resetProjections(stack.db);
  await settle(stack.db);

  const keyPrefix = stack.keyPrefix('live');
  const writeApi = await startWriteApi(stack, { relayKeyPrefix: keyPrefix });
  const names = plan.projector.projections;
  const workers = await spawnWorkers(stack, liveWorkers, {
    keyPrefix,
    projections: names,
    batchSize: plan.projector.batchSize,
  });
  const listener = new CheckpointListener(stack.databaseUrl, 'order_summary', stack.partitions);
  const client = new WriteApiClient(writeApi.origin, plan.projector.liveConnections);
  try {
    await workers.untilOwningAll(stack.partitions);
    await listener.start();
    const acks: Ack[] = [];
    /** The acknowledgements after the warm-up: the ones the figure counts. */
    const counted: Ack[] = [];
    const appendMs: number[] = [];
    const phase = await measured(PHASE, async () => {
      const offered = await offerAtRate<{
        event: (typeof events)[number];
        request: PreparedAppend;
      }>({
        phase: PHASE,
        items: requests,
        ratePerSec: rate,
        keyOf: (item) => item.event.streamId,
        send: (item) => client.append(item.request),
        onAck: (item, position, ms) => {
          const ack = { position, partition: item.event.partition, at: performance.now() };
          acks.push(ack);
          if (item.event.index >= warmUp) {
            counted.push(ack);
            appendMs.push(ms);
          }
        },
      });
      return offered.ms;
    });
    await untilLogApplied({
      db: stack.db,
      partitions: stack.partitions,
      phase: `${PHASE}.drain`,
      projections: names,
      timeLimitMs: DRAIN_MS,
      failure: workers.failure,
    });
    // Notifications of the last batches may still be on their way.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await listener.stop();
    await client.close();
    await workers.stop();
    await writeApi.stop();

    await verifyLog(stack.db, PHASE, events, { streamOrder: true });
    await verifyReadModels(stack.db, PHASE, events);
    const { unseen } = visibilityLags(acks, listener.byPartition);
    if (unseen.length > 0) {
      throw new VerificationError(
        PHASE,
        `${unseen.length} appends never notified as applied (first: position ${unseen[0]!.position})`,
      );
    }
    const { lagsMs, visibleBeforeAck } = visibilityLags(counted, listener.byPartition);
    say(
      `[${PHASE}] verified: the log and both tables equal the fold of the ${events.length} appends`,
    );
    await stack.dropKeys(keyPrefix);
    await resetProjections(stack.db);
    const lag = summarize(lagsMs);
    const append = summarize(appendMs);
    // The same appends at the same rate through the path's hops alone, with
    // a worker process of the floor: what this machine allows before any of
    // write-api's, the relay's or the workers' own work.
    const floor = await measureHopFloor(stack, `${PHASE}.floor`, events, {
      ratePerSec: rate,
      warmUp,
      throughWorker: true,
    });
    return {
      ...lag,
      floor,
      events: counted.length,
      warmUpAppends: warmUp,
      offeredRate: rate,
      achievedRate: Math.round((events.length * 1000) / phase.ms),
      workers: liveWorkers,
      visibleBeforeAck,
      visibility: 'LISTEN on the checkpoints channel',
      appendAckMs: { p50: append.p50, p99: append.p99, max: append.max },
      cpu: phase.cpu,
    };
  } finally {
    await listener.stop();
    await client.close().catch(() => {});
    await workers.stop();
    await writeApi.stop();
  }
}
