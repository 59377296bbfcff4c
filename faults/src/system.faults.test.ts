import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateWorkload } from '@refract/example-orders';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import { injectFault } from './fault-injector.js';
import { LoadGenerator } from './load-generator.js';
import { planFaults } from './schedule.js';
import { compareReadModels, compareWithAcknowledged, countParked, readLog } from './verify.js';

// A failing run is replayed with FAULTS_SEED=<the printed seed>; FAULTS_ROUNDS
// sets how many times each kind of fault is injected.
const SEED = process.env.FAULTS_SEED
  ? Number(process.env.FAULTS_SEED)
  : Math.floor(Math.random() * 2 ** 31);
const ROUNDS = Number(process.env.FAULTS_ROUNDS ?? 3);
const PARTITIONS = 16;
const LEASE_TTL_MS = 2000;
/** A bound on the load, whatever the machine's speed; the schedule normally ends first. */
const MAX_EVENTS = 40_000;
const CONVERGENCE_TIMEOUT_MS = 90_000;

const LOG_DIR = fileURLToPath(
  new URL(`../../test-results/faults/seed-${SEED}-${Date.now()}/`, import.meta.url),
);
const timeline = (line: string) => {
  const stamped = `${new Date().toISOString()} ${line}`;
  appendFileSync(join(LOG_DIR, 'harness.log'), `${stamped}\n`);
  console.log(`[faults seed=${SEED}] ${line}`);
};

const cluster = new Cluster({
  logDir: LOG_DIR,
  partitions: PARTITIONS,
  workers: 3,
  leaseTtlMs: LEASE_TTL_MS,
  heartbeatMs: 250,
  windowSize: 1000,
});
let load: LoadGenerator;

beforeAll(async () => {
  await cluster.start();
  timeline(`started; logs in ${LOG_DIR}; replay with FAULTS_SEED=${SEED}`);
});

afterAll(async () => {
  await load?.stop();
  await cluster.close();
});

describe(`the whole system under a seeded schedule of faults (FAULTS_SEED=${SEED})`, () => {
  it('takes load while workers, relay leaders, Redis and Postgres sessions are killed', async () => {
    load = new LoadGenerator({
      origins: cluster.writeApis.map((member) => cluster.origin(member)),
      events: generateWorkload({ events: MAX_EVENTS, seed: SEED, concurrency: 200 }),
      concurrency: 16,
      requestTimeoutMs: 5000,
      giveUpAfterMs: 60_000,
    });
    load.start();
    const faults = planFaults(SEED, ROUNDS);
    timeline(`schedule: ${faults.map((f) => f.kind).join(', ')}`);
    try {
      for (const [i, fault] of faults.entries()) {
        await new Promise((resolve) => setTimeout(resolve, fault.waitBeforeMs));
        const report = await injectFault(cluster, fault, {
          leaseTtlMs: LEASE_TTL_MS,
          partitions: PARTITIONS,
        });
        timeline(`fault ${i + 1}/${faults.length} ${fault.kind}: ${report}`);
      }
    } finally {
      // The checks below read a log that no longer moves.
      await load.stop();
    }
    await cluster.settleRestarts();
    timeline(`load stopped: ${JSON.stringify(load.stats)}`);
    expect(load.failures).toEqual([]);
    expect(load.stats.acknowledged).toBeGreaterThan(0);
  });

  it('stored every acknowledged append at its position, and nothing else', async () => {
    const stored = await readLog(cluster.pool);
    timeline(`${stored.length} events stored`);
    expect(compareWithAcknowledged(stored, load.acknowledged)).toEqual([]);
  });

  it('brought both read models to the fold of the stored log, nothing applied twice', async () => {
    const stored = await readLog(cluster.pool);
    const started = Date.now();
    await eventually(
      async () => expect(await compareReadModels(cluster.pool, stored)).toEqual([]),
      {
        timeoutMs: CONVERGENCE_TIMEOUT_MS,
        intervalMs: 500,
      },
    );
    timeline(`read models equal the fold after ${Date.now() - started} ms`);
    // A lost connection or a flushed stream is never a poison event.
    expect(await countParked(cluster.pool)).toBe(0);
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
    timeline(`all ready; starts: ${cluster.members.map((m) => `${m.name}=${m.starts}`).join(' ')}`);
  });
});
