import { VerificationError } from './event-log.js';
import type { BenchPlan } from './plan.js';
import { measureWorkerCatchUp, publishLog } from './projector-catchup.js';
import {
  compareReadModels,
  foldEvents,
  type ReadModelTable,
  readReadModels,
} from './read-models.js';
import { resolveRelayKind } from './relay-runner.js';
import type { BenchStack } from './stack.js';
import { ratio } from './stats.js';
import { storeLog } from './stored-log.js';
import type { BenchEvent } from './workload.js';

/**
 * The breaker must not stop a catch-up whose every bad event is expected:
 * the figure is the speed of parking, and the check wants them all parked.
 */
const NO_TRIP = { REFRACT_TRIP_AFTER_PARKED: '1000000000' };

export interface PoisonResults {
  /** Malformed catch-up rate / clean catch-up rate, same run, same worker count (one). */
  ratio: number;
  eventsPerSec: number;
  cleanEventsPerSec: number;
  events: number;
  /** ItemAdded events stored with unitPrice as a JSON number: each parked. */
  malformed: number;
  /** Events of their streams after them: parked behind them (quarantine), never applied. */
  parkedBehind: number;
  seconds: number;
  cleanSeconds: number;
  [detail: string]: unknown;
}

/**
 * Every `1 / share`-th ItemAdded, spread evenly (the k-th ItemAdded when
 * k·share crosses an integer), gets its unitPrice as a JSON number: the
 * issue's client mistake, which both projections' handlers refuse.
 */
export function malform(events: BenchEvent[], share: number): BenchEvent[] {
  let seen = 0;
  return events.map((event) => {
    if (event.type !== 'ItemAdded') return event;
    seen += 1;
    if (Math.floor(seen * share) === Math.floor((seen - 1) * share)) return event;
    const data = JSON.parse(event.dataJson) as { unitPrice: string };
    return { ...event, dataJson: JSON.stringify({ ...data, unitPrice: Number(data.unitPrice) }) };
  });
}

/**
 * Which positions each projection must have parked: every malformed event,
 * and every later event of its stream (quarantined behind the first).
 * `positionOf` says where the loader stored each event (the multi-row
 * loader does not keep workload order across streams).
 */
export function expectedParking(
  events: readonly BenchEvent[],
  positionOf: (event: BenchEvent) => number,
): {
  failed: Set<number>;
  behind: Set<number>;
} {
  const failed = new Set<number>();
  const behind = new Set<number>();
  const quarantined = new Set<string>();
  for (const event of events) {
    const position = positionOf(event);
    if (quarantined.has(event.streamId)) behind.add(position);
    else if (event.type === 'ItemAdded' && /"unitPrice":\d/.test(event.dataJson)) {
      failed.add(position);
      quarantined.add(event.streamId);
    }
  }
  return { failed, behind };
}

/**
 * The poison part (issue 17): catch-up of the stored workload by one worker,
 * clean, then with a share of ItemAdded malformed. Checked: each projection
 * parked exactly the malformed events and, behind them, the rest of their
 * streams; every other event is applied (both tables equal the fold of the
 * events not parked).
 */
export async function runPoison(stack: BenchStack, plan: BenchPlan): Promise<PoisonResults> {
  const { events: count, malformedShare } = plan.poison;
  const relayKind = resolveRelayKind(plan.poison.relay);

  const clean = await storeLog(stack, plan, 'poison.clean', count);
  const cleanPrefix = stack.keyPrefix('poison-clean');
  await publishLog(stack, relayKind, cleanPrefix, clean.head, plan.phaseTimeoutMs);
  const cleanRun = await measureWorkerCatchUp(stack, plan, 'poison.clean', clean, cleanPrefix, 1, {
    env: NO_TRIP,
  });
  await stack.dropKeys(cleanPrefix);

  const bad = await storeLog(stack, plan, 'poison.malformed', count, (events) =>
    malform(events, malformedShare),
  );
  const stored = await stack.db.query<{ stream_id: string; version: string; position: string }>(
    'SELECT stream_id, version, position FROM refract.events',
  );
  const positions = new Map(
    stored.rows.map((r) => [`${r.stream_id}:${Number(r.version)}`, Number(r.position)]),
  );
  const positionOf = (event: BenchEvent) => positions.get(`${event.streamId}:${event.version}`)!;
  const expected = expectedParking(bad.events, positionOf);
  const prefix = stack.keyPrefix('poison');
  await publishLog(stack, relayKind, prefix, bad.head, plan.phaseTimeoutMs);
  const run = await measureWorkerCatchUp(stack, plan, 'poison.malformed', bad, prefix, 1, {
    env: NO_TRIP,
    verify: () => verifyParking(stack, 'poison.malformed', bad.events, expected, positionOf),
  });
  await stack.dropKeys(prefix);
  return {
    ratio: ratio(run.eventsPerSec, cleanRun.eventsPerSec),
    eventsPerSec: run.eventsPerSec,
    cleanEventsPerSec: cleanRun.eventsPerSec,
    events: bad.head,
    malformed: expected.failed.size,
    parkedBehind: expected.behind.size,
    seconds: run.seconds,
    cleanSeconds: cleanRun.seconds,
    workersFrom: run.workersFrom,
    cpu: run.cpu,
    cleanCpu: cleanRun.cpu,
  };
}

async function verifyParking(
  stack: BenchStack,
  phase: string,
  events: readonly BenchEvent[],
  expected: { failed: Set<number>; behind: Set<number> },
  positionOf: (event: BenchEvent) => number,
): Promise<string> {
  const problems: string[] = [];
  const tables: ReadModelTable[] = ['order_summary', 'customer_stats'];
  for (const table of tables) {
    const rows = await stack.db.query<{ position: string; behind: string | null }>(
      'SELECT position, behind FROM refract.parked_events_all WHERE projection = $1 AND resolution IS NULL',
      [table],
    );
    const failed = new Set<number>();
    const behind = new Set<number>();
    for (const row of rows.rows) (row.behind === null ? failed : behind).add(Number(row.position));
    const differ = (what: string, want: Set<number>, got: Set<number>) => {
      const missing = [...want].filter((p) => !got.has(p));
      const extra = [...got].filter((p) => !want.has(p));
      if (missing.length + extra.length > 0) {
        problems.push(
          `${table}: ${what} ${missing.length} missing (first ${missing.slice(0, 3).join(', ')}), ${extra.length} unexpected (first ${extra.slice(0, 3).join(', ')})`,
        );
      }
    };
    differ('parked malformed events', expected.failed, failed);
    differ('events parked behind them', expected.behind, behind);
  }
  const applied = events.filter(
    (e) => !expected.failed.has(positionOf(e)) && !expected.behind.has(positionOf(e)),
  );
  problems.push(...compareReadModels(foldEvents(applied), await readReadModels(stack.db, tables)));
  if (problems.length > 0) throw new VerificationError(phase, problems.join('; '));
  return `${expected.failed.size} malformed events and the ${expected.behind.size} behind them parked by each projection, both tables equal the fold of the other ${applied.length}`;
}
