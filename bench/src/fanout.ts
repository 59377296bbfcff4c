import { measureBacklog } from './fanout-backlog.js';
import { measureLatency } from './fanout-latency.js';
import type { BenchPlan } from './plan.js';
import { say } from './progress.js';
import { resolveRelayKind } from './relay-runner.js';
import { attempt, type Failure, type FanoutResults } from './report-types.js';
import type { BenchStack } from './stack.js';

/** The fan-out figures (issue 3): live latency, then backlog publication against raw XADD. */
export async function runFanout(
  stack: BenchStack,
  plan: BenchPlan,
  failures: Failure[],
): Promise<FanoutResults> {
  const relayKind = resolveRelayKind(plan.fanout.relay);
  say(
    `[fanout] relay: ${relayKind === 'service' ? 'services/relay as a child process' : 'Relay from @refract/relay in this process'}`,
  );
  const latencyMs = await attempt('fanout.latency', failures, () =>
    measureLatency(stack, plan, relayKind),
  );
  const backlog = await attempt('fanout.backlog', failures, () =>
    measureBacklog(stack, plan, relayKind),
  );
  return { latencyMs, backlog };
}
