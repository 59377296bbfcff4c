import { orderProjections } from '@refract/example-orders';
import type { BenchPlan } from './plan.js';
import { say } from './progress.js';
import { measureRawProjector, measureWorkerCatchUp, publishLog } from './projector-catchup.js';
import { measureLiveLag } from './projector-live-lag.js';
import { resolveRelayKind } from './relay-runner.js';
import { attempt, type Failure, type ProjectorResults } from './report-types.js';
import type { BenchStack } from './stack.js';
import { ratio } from './stats.js';
import { storeLog } from './stored-log.js';

/**
 * The projector figures (issue 4): catch-up of N stored events with one and
 * with two worker processes against the raw projector baseline, the live
 * lag at a steady append rate, and a worker's peak memory during catch-up.
 */
export async function runProjector(
  stack: BenchStack,
  plan: BenchPlan,
  failures: Failure[],
): Promise<ProjectorResults> {
  const relayKind = resolveRelayKind(plan.projector.relay);
  const results: ProjectorResults = {};
  await attempt('catchup', failures, async () => {
    const log = await storeLog(stack, plan, 'catchup', plan.projector.catchUpEvents);
    const keyPrefix = stack.keyPrefix('catchup');
    await publishLog(stack, relayKind, keyPrefix, log.head, plan.phaseTimeoutMs);
    const baseline = await measureRawProjector(
      stack,
      plan,
      'catchup.baseline',
      log,
      orderProjections,
    );
    const one = await attempt('catchup.oneWorker', failures, () =>
      measureWorkerCatchUp(stack, plan, 'catchup.oneWorker', log, keyPrefix, 1),
    );
    const two = await attempt('catchup.twoWorkers', failures, () =>
      measureWorkerCatchUp(stack, plan, 'catchup.twoWorkers', log, keyPrefix, 2),
    );
    await stack.dropKeys(keyPrefix);
    const details = (figure: typeof one) => {
      const { eventsPerSec: _figure, workerPeakRssMb: _peaks, ...rest } = figure!;
      return rest;
    };
    results.catchup = {
      ...(one && {
        oneWorker: {
          eventsPerSec: one.eventsPerSec,
          baseline: baseline.eventsPerSec,
          ratio: ratio(one.eventsPerSec, baseline.eventsPerSec),
          events: log.head,
          ...details(one),
          baselineSeconds: Math.round(baseline.seconds * 1000) / 1000,
          baselineCpu: baseline.cpu,
        },
      }),
      ...(two && {
        twoWorkers: {
          eventsPerSec: two.eventsPerSec,
          ratio: ratio(two.eventsPerSec, baseline.eventsPerSec),
          events: log.head,
          ...details(two),
          workerPeakRssMb: two.workerPeakRssMb,
        },
      }),
    };
    if (one) {
      results.memory = { workerPeakRssMb: one.workerPeakRssMb[0] ?? 0, phase: 'catchup.oneWorker' };
      say(`[memory] one worker's peak RSS during catch-up: ${results.memory.workerPeakRssMb} MB`);
    }
  });
  const lag = await attempt('liveLag', failures, () => measureLiveLag(stack, plan));
  if (lag) {
    const { p50, p99, max, ...rest } = lag;
    results.liveLag = { p50Ms: p50, p99Ms: p99, maxMs: max, ...rest };
  }
  return results;
}
