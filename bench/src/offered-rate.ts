import { insertSingleRows } from './baselines/single-row-insert.js';
import { resetLog, settle } from './event-log.js';
import { measured } from './phase.js';
import type { BenchPlan } from './plan.js';
import { say } from './progress.js';
import type { AppendResults } from './report-types.js';
import type { BenchStack } from './stack.js';
import { perSecond } from './stats.js';
import { loadWorkload } from './workload.js';

/** The most the latency phases offer, however fast the machine. */
export const MAX_OFFERED_RATE = 2000;
/**
 * The share of the run's raw single-row rate the latency phases offer: a
 * load the machine can take with room to spare, so the figure is always
 * reported, on a slow machine too (a fixed 2,000/s was more than write-api
 * could take on one).
 */
export const OFFERED_SHARE = 0.4;
/** Single-row INSERTs of the probe, when the append part did not run. */
const PROBE_EVENTS = 20_000;

/** The rate the latency phases offer: min(2,000/s, 40% of the raw single-row rate), at least 1/s. */
export function offeredRateFor(rawSingleRowPerSec: number): number {
  return Math.max(1, Math.min(MAX_OFFERED_RATE, Math.floor(rawSingleRowPerSec * OFFERED_SHARE)));
}

export interface OfferedRate {
  perSec: number;
  rawSingleRowPerSec: number;
  /** Where the raw rate came from: this run's append.single32 baseline, or a probe of its own. */
  from: 'append.single32.baseline' | 'probe';
}

/** The plan with the latency phases (fan-out latency, live lag) offering `perSec`. */
export function withOfferedRate(plan: BenchPlan, perSec: number): BenchPlan {
  return {
    ...plan,
    fanout: { ...plan.fanout, latencyRatePerSec: perSec },
    projector: { ...plan.projector, liveRatePerSec: perSec },
  };
}

/**
 * The offered rate of this run: from the append part's single-row baseline
 * when it ran, else from a probe measured the same way (single-row INSERT
 * transactions from as many connections, on a fresh log).
 */
export async function measureOfferedRate(
  stack: BenchStack,
  plan: BenchPlan,
  append: AppendResults | undefined,
): Promise<OfferedRate> {
  const raw = append?.single32?.baseline;
  if (raw !== undefined && raw > 0) {
    return {
      perSec: offeredRateFor(raw),
      rawSingleRowPerSec: raw,
      from: 'append.single32.baseline',
    };
  }
  const phase = 'offeredRate.probe';
  const events = loadWorkload(plan.n, Math.min(plan.n, PROBE_EVENTS), stack.partitions);
  await resetLog(stack.db);
  await settle(stack.db);
  const probe = await measured(phase, () =>
    insertSingleRows(stack.databaseUrl, events, {
      phase,
      connections: plan.append.singleClients,
      timeLimitMs: plan.phaseTimeoutMs,
    }),
  );
  const rawSingleRowPerSec = perSecond(events.length, probe.ms);
  await resetLog(stack.db);
  say(`[${phase}] raw single-row INSERTs: ${rawSingleRowPerSec}/s`);
  return { perSec: offeredRateFor(rawSingleRowPerSec), rawSingleRowPerSec, from: 'probe' };
}
