import { seededRandom } from '@refract/example-orders';

export const FAULT_KINDS = [
  'kill-worker',
  'kill-relay-leader',
  'flush-redis',
  'restart-redis',
  'terminate-postgres-backends',
  'zombie-worker',
  'restart-postgres',
  'network-latency',
  'network-cut',
  'network-slow-close',
  'stall-pool',
  'rebuild',
  'poison-events',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  kind: FaultKind;
  /** Quiet time before this fault, while the load runs. */
  waitBeforeMs: number;
  /** Picks the target among the candidates (index modulo their count). */
  target: number;
  /** How long Redis or Postgres stays down on a restart; how long a network fault lasts. */
  downtimeMs: number;
  /** Which way a fault goes where it has two: Postgres or Redis for the network, fast or immediate shutdown. */
  variant: 0 | 1;
}

/**
 * The fault schedule for a seed: every kind `rounds` times, in a shuffled
 * order, with random quiet times between them. Same seed ⇒ same schedule.
 */
export function planFaults(seed: number, rounds: number): PlannedFault[] {
  const rng = seededRandom(seed);
  const kinds: FaultKind[] = [];
  for (let round = 0; round < rounds; round++) kinds.push(...FAULT_KINDS);
  // Fisher-Yates with the seeded generator.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  return kinds.map((kind) => ({
    kind,
    waitBeforeMs: rng.int(500, 2500),
    target: rng.int(0, 1_000_000),
    downtimeMs: rng.int(200, 1500),
    variant: rng.int(0, 1) as 0 | 1,
  }));
}
