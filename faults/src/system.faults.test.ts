import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStore } from '@refract/event-store';
import { generateWorkload, seededRandom } from '@refract/example-orders';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import { type FaultFindings, injectFault } from './fault-injector.js';
import { LoadGenerator } from './load-generator.js';
import { MinPositionReader } from './min-position-reader.js';
import { planFaults } from './schedule.js';
import {
  compareParked,
  compareReadModels,
  compareWithAcknowledged,
  readLog,
  readTripped,
  splitLog,
} from './verify.js';

// Two seeds per run (CI runs both), random unless given: FAULTS_SEEDS=1,2
// replays a run, FAULTS_SEED=1 replays one seed alone. FAULTS_ROUNDS sets how
// many times each kind of fault is injected per seed.
const SEEDS = (process.env.FAULTS_SEEDS ?? process.env.FAULTS_SEED)?.split(',').map(Number) ?? [
  Math.floor(Math.random() * 2 ** 31),
  Math.floor(Math.random() * 2 ** 31),
];
const ROUNDS = Number(process.env.FAULTS_ROUNDS ?? 1);
const PARTITIONS = 16;
const LEASE_TTL_MS = 2000;
/** Entries per partition stream: small, so that the stall-pool fault trims past the workers. */
const WINDOW_SIZE = 50;
/** A bound on the load; the schedule ends long before (a seed appends 25,000–40,000 on two busy cores): `stall-pool` needs the load still running. */
const MAX_EVENTS = 200_000;
const CONVERGENCE_TIMEOUT_MS = 90_000;

console.log(`[faults] seeds ${SEEDS.join(', ')}; replay with FAULTS_SEEDS=${SEEDS.join(',')}`);

for (const seed of SEEDS) faultRun(seed);

/** What grew between two counts by answer, as `503×12, no answer×3` (or `none`). */
function changes(before: Record<string, number>, after: Record<string, number>): string {
  const grown = Object.entries(after)
    .map(([answer, n]) => [answer, n - (before[answer] ?? 0)] as const)
    .filter(([, n]) => n > 0);
  return grown.length === 0 ? 'none' : grown.map(([answer, n]) => `${answer}×${n}`).join(', ');
}

function faultRun(seed: number): void {
  const logDir = fileURLToPath(
    new URL(`../../test-results/faults/seed-${seed}-${Date.now()}/`, import.meta.url),
  );
  const timeline = (line: string) => {
    const stamped = `${new Date().toISOString()} ${line}`;
    appendFileSync(join(logDir, 'harness.log'), `${stamped}\n`);
    console.log(`[faults seed=${seed}] ${line}`);
  };
  const adminToken = randomBytes(16).toString('hex');
  const cluster = new Cluster({
    logDir,
    partitions: PARTITIONS,
    workers: 3,
    leaseTtlMs: LEASE_TTL_MS,
    heartbeatMs: 250,
    windowSize: WINDOW_SIZE,
    adminToken,
  });
  const findings: FaultFindings = { windowFallbacks: 0, rebuildsCompleted: 0, rebuildsResumed: 0 };
  let load: LoadGenerator | undefined;
  let reader: MinPositionReader | undefined;
  let store: EventStore | undefined;
  let started = 0;

  describe(`the whole system under a seeded schedule of faults (FAULTS_SEED=${seed})`, () => {
    beforeAll(async () => {
      started = Date.now();
      await cluster.start();
      timeline(`started; logs in ${logDir}; replay with FAULTS_SEED=${seed}`);
    });

    afterAll(async () => {
      await reader?.stop();
      await load?.stop();
      await store?.close();
      await cluster.close();
      timeline(`done in ${Math.round((Date.now() - started) / 1000)} s`);
    });

    it('takes load while processes, Redis, Postgres and the network between them fail', async () => {
      // The poison events' writer: straight to Postgres (no proxy), but not
      // the harness's pool, so terminate-postgres-backends ends it too.
      store = await EventStore.open({
        databaseUrl: cluster.db.url,
        poolSize: 2,
        applicationName: 'refract-faults-poison-writer',
      });
      const appends = new LoadGenerator({
        origins: cluster.writeApis.map((member) => cluster.origin(member)),
        events: generateWorkload({ events: MAX_EVENTS, seed, concurrency: 200 }),
        concurrency: 16,
        requestTimeoutMs: 5000,
        giveUpAfterMs: 60_000,
        store,
      });
      load = appends;
      reader = new MinPositionReader({
        origin: cluster.origin(cluster.member('query-api')),
        acknowledged: appends.acknowledged,
        concurrency: 2,
        waitMs: 2000,
        random: (() => {
          const rng = seededRandom(seed ^ 0x5eed);
          return () => rng.next();
        })(),
      });
      appends.start();
      reader.start();
      const faults = planFaults(seed, ROUNDS);
      timeline(`schedule: ${faults.map((f) => f.kind).join(', ')}`);
      try {
        for (const [i, fault] of faults.entries()) {
          await new Promise((resolve) => setTimeout(resolve, fault.waitBeforeMs));
          const before = { ...appends.stats.failedAttempts };
          const report = await injectFault(cluster, fault, {
            leaseTtlMs: LEASE_TTL_MS,
            partitions: PARTITIONS,
            windowSize: WINDOW_SIZE,
            adminToken,
            findings,
            load: appends,
          });
          const failed = changes(before, appends.stats.failedAttempts);
          timeline(
            `fault ${i + 1}/${faults.length} ${fault.kind}: ${report}; failed append attempts meanwhile: ${failed}`,
          );
        }
      } finally {
        // The checks below read a log that no longer moves.
        await reader.stop();
        await appends.stop();
      }
      await cluster.settleRestarts();
      timeline(`load stopped: ${JSON.stringify(appends.stats)}`);
      timeline(`query-api reads: ${JSON.stringify(reader.stats)}`);
      expect(appends.failures).toEqual([]);
      expect(appends.stats.acknowledged).toBeGreaterThan(0);
      // An append that failed was refused as unavailable (503), timed out
      // (504) or got no answer: nothing else is retryable.
      expect(
        Object.keys(appends.stats.failedAttempts).filter((k) => !/^(503|504|no answer)$/.test(k)),
      ).toEqual([]);
    });

    it('answered every minPosition read with a row at or past the position, or a documented refusal', () => {
      expect(reader?.violations).toEqual([]);
      expect(reader?.stats.fresh).toBeGreaterThan(0);
    });

    it('stored every acknowledged append at its position, and nothing else', async () => {
      const stored = await readLog(cluster.pool);
      timeline(`${stored.length} events stored`);
      expect(compareWithAcknowledged(stored, load?.acknowledged ?? [])).toEqual([]);
    });

    it('brought both read models to the fold of the good events and parked exactly the poison events and those behind them', async () => {
      const split = splitLog(await readLog(cluster.pool));
      timeline(
        `${split.heads.length} poison events, ${split.behind.length} events behind them, ${split.good.length} good`,
      );
      // Every poison event the load stored, in a stream of its own, and no other.
      expect(split.heads.length).toBe(load?.stats.poisoned);
      expect(split.heads.length).toBeGreaterThan(0);
      const waited = Date.now();
      await eventually(
        // Both lists in one assertion, so a failure shows each side.
        async () =>
          expect({
            readModels: await compareReadModels(cluster.pool, split.good),
            // A lost connection or a flushed stream never parks an event: only
            // the poison events and their streams' later events are parked.
            parked: await compareParked(cluster.pool, split),
          }).toEqual({ readModels: [], parked: [] }),
        { timeoutMs: CONVERGENCE_TIMEOUT_MS, intervalMs: 500 },
      );
      timeline(
        `read models equal the fold, parked set as expected after ${Date.now() - waited} ms`,
      );
      expect(await readTripped(cluster.pool)).toEqual([]);
    });

    it('rebuilt customer_stats while its rebuild worker and a projector worker were killed, and workers read Postgres past the stream window', () => {
      timeline(`findings: ${JSON.stringify(findings)}`);
      expect(findings.rebuildsCompleted).toBe(ROUNDS);
      expect(findings.rebuildsResumed).toBeGreaterThan(0);
      expect(findings.windowFallbacks).toBeGreaterThan(0);
    });

    it('needed no manual restart: every process not killed on purpose still runs and is ready', async () => {
      expect(cluster.unexpectedExits).toEqual([]);
      await eventually(
        async () => {
          const answers = await cluster.readiness();
          expect(Object.fromEntries(answers)).toEqual(
            Object.fromEntries(cluster.members.map((m) => [m.name, '200'])),
          );
        },
        { timeoutMs: 15_000, intervalMs: 250 },
      );
      timeline(
        `all ready; starts: ${cluster.members.map((m) => `${m.name}=${m.starts}`).join(' ')}`,
      );
    });
  });
}
