import { describe, expect, it } from 'vitest';
import { appendFigure, cpuPerRequest } from './append-figure.js';
import type { CpuShare } from './cpu-meter.js';
import type { MachineInfo } from './machine.js';
import { offeredRateFor, withOfferedRate } from './offered-rate.js';
import type { PhaseMeasurement } from './phase.js';
import { makePlan } from './plan.js';
import {
  type BenchResults,
  buildResults,
  type CorePass,
  coreScalingSection,
  markdown,
  overFloorTarget,
  partOfFailure,
} from './report.js';

const cpu = (cores: Partial<CpuShare> = {}): CpuShare => ({
  client: 0,
  services: 0,
  postgres: 0,
  redis: 0,
  other: 0,
  stolen: 0,
  ...cores,
});
const phase = (ms: number, cores: Partial<CpuShare> = {}): PhaseMeasurement => ({
  ms,
  cpu: cpu(cores),
  busyBeforeCores: 0,
});

const machine = {
  cpus: 2,
  cpuModel: 'test',
  memoryGb: 1,
  node: 'v20',
  postgres: '15',
  redis: '7',
  synchronousCommit: 'on',
} as unknown as MachineInfo;

function appendOnly(figures: { single: number; floor: number }): BenchResults {
  const plan = makePlan({ parts: ['append'], n: 10_000, relay: 'auto', phaseTimeoutS: 60 });
  const single32 = appendFigure({
    events: 1000,
    requests: 1000,
    measured: phase(1000 / (figures.single / 1000)),
    baseline: phase(100),
    floor: phase(1000 / (figures.floor / 1000)),
    details: {},
  });
  return buildResults(
    {
      plan,
      sha: 'abc',
      dirty: false,
      machine,
      append: { single32 },
      failures: [],
      finishedAt: new Date('2026-12-06T10:00:00Z'),
    },
    undefined,
  );
}

describe('append figures against the HTTP floor', () => {
  it('divides the figure by the floor of the same requests (httpRatio) and keeps the Postgres ratio', () => {
    const figure = appendFigure({
      events: 2000,
      requests: 100,
      measured: phase(1000),
      baseline: phase(250),
      floor: phase(800),
      details: { clients: 4 },
    });
    expect(figure).toMatchObject({
      eventsPerSec: 2000,
      baseline: 8000,
      ratio: 0.25,
      httpFloor: 2500,
      httpRatio: 0.8,
      requests: 100,
      clients: 4,
    });
  });

  it('spreads a phase’s CPU over its requests, per group, in milliseconds', () => {
    // 0.5 cores for 2 s is 1,000 ms of CPU: over 400 requests, 2.5 ms each.
    expect(cpuPerRequest(phase(2000, { client: 0.25, services: 0.5, postgres: 1 }), 400)).toEqual({
      client: 1.25,
      services: 2.5,
      postgres: 5,
    });
    expect(cpuPerRequest(phase(2000, { services: 1 }), 0).services).toBe(0);
  });

  it('shows the HTTP ratios against their targets, and the Postgres ratios as context', () => {
    const met = markdown(appendOnly({ single: 1200, floor: 1000 }));
    expect(met).toContain(
      '| append.single32.httpRatio | 1,200 | 1,000 (HTTP floor) | 1.20 | ≥ 1.2 (met) |',
    );
    expect(met).toContain('| append.batch100.httpRatio | – | – | – | ≥ 0.9 |');
    expect(met).toMatch(
      /\| append\.single32 \| 1,200 \| 10,000 \(Postgres only\) \| 0\.12 \| context \|/,
    );
    const missed = markdown(appendOnly({ single: 1190, floor: 1000 }));
    expect(missed).toContain('| 1.19 | ≥ 1.2 (missed) |');
  });
});

describe('latency targets over their floors', () => {
  it('is met up to the floor’s p99 plus the margin, and missed beyond', () => {
    expect(overFloorTarget(5.4, { p99: 4.4 }, 1)).toBe('p99 ≤ floor p99 + 1 ms = 5.4 ms (met)');
    expect(overFloorTarget(5.41, { p99: 4.4 }, 1)).toBe('p99 ≤ floor p99 + 1 ms = 5.4 ms (missed)');
    expect(overFloorTarget(undefined, undefined, 10)).toBe('p99 ≤ floor p99 + 10 ms');
  });
});

describe('the offered rate of the latency phases', () => {
  it('is 40% of the raw single-row rate, at most 2,000/s, at least 1/s', () => {
    expect(offeredRateFor(4738)).toBe(1895);
    expect(offeredRateFor(5000)).toBe(2000);
    expect(offeredRateFor(14_932)).toBe(2000);
    expect(offeredRateFor(1)).toBe(1);
  });

  it('is offered by both fan-out latency and live lag', () => {
    const plan = makePlan({ parts: ['fanout'], n: 10_000, relay: 'auto', phaseTimeoutS: 60 });
    const offered = withOfferedRate(plan, 1234);
    expect(offered.fanout.latencyRatePerSec).toBe(1234);
    expect(offered.projector.liveRatePerSec).toBe(1234);
    expect(plan.fanout.latencyRatePerSec).toBe(2000);
  });
});

describe('the core-scaling section', () => {
  const pass = (cores: number, eventsPerSec: number, failures = 0): CorePass => ({
    cores,
    append: {
      single32: { eventsPerSec, baseline: 10_000, ratio: eventsPerSec / 10_000, httpRatio: 1.1 },
    },
    liveLag: { p50Ms: 3, p99Ms: 9, maxMs: 20, floor: { p99: 4 } },
    failures,
  });

  it('has a column per core count and a row per figure', () => {
    const lines = coreScalingSection([pass(1, 1500, 2), pass(2, 2500)]);
    expect(lines).toContain('| figure | 1 core | 2 cores |');
    expect(lines).toContain('| append.single32 | 1,500/s (ratio 0.15) | 2,500/s (ratio 0.25) |');
    expect(lines).toContain('| append.single32.httpRatio | 1.10 | 1.10 |');
    expect(lines).toContain('| liveLag.p99Ms | 9 ms (floor 4 ms) | 9 ms (floor 4 ms) |');
    expect(lines.at(-1)).toBe('Passes with failed sub-parts (see below): 1 cores (2).');
  });

  it('is in the results and their Markdown, and a failure of a pass belongs to its part', () => {
    const results = appendOnly({ single: 1200, floor: 1000 });
    const plan = makePlan({ parts: ['append'], n: 10_000, relay: 'auto', phaseTimeoutS: 60 });
    const withScaling = buildResults(
      {
        plan,
        sha: 'abc',
        dirty: false,
        machine,
        coreScaling: [pass(1, 1500), pass(2, 2500)],
        failures: [],
        finishedAt: new Date('2026-12-06T10:00:00Z'),
      },
      results,
    );
    expect(withScaling.coreScaling?.map((p) => p.cores)).toEqual([1, 2]);
    expect(markdown(withScaling)).toContain('## Core scaling');
    expect(partOfFailure('append.single32 (1 cores)')).toBe('append');
    expect(partOfFailure('append (1 cores)')).toBe('append');
    expect(partOfFailure('liveLag.offeredRate')).toBe('projector');
  });
});
