import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuPerRequest } from './append-figure.js';
import type { CpuShare } from './cpu-meter.js';
import type { MachineInfo } from './machine.js';
import type { OfferedRate } from './offered-rate.js';
import { type BenchPlan, fmt, type Part } from './plan.js';
import type { PoisonResults } from './poison.js';
import type {
  AppendResults,
  Failure,
  FanoutResults,
  LatencyFigure,
  ProjectorResults,
  ThroughputFigure,
} from './report-types.js';
import type { GroupCommitStats } from './write-api-metrics.js';

/** The results file: the keys bench/README.md documents, plus what was measured how. */
export interface BenchResults {
  n: number;
  sha: string;
  machine: MachineInfo;
  /** False when any reported part failed its verification or did not run through. */
  verified: boolean;
  append?: AppendResults;
  fanout?: FanoutResults;
  catchup?: ProjectorResults['catchup'];
  liveLag?: ProjectorResults['liveLag'];
  memory?: ProjectorResults['memory'];
  rebuild?: ThroughputFigure;
  /** Catch-up with malformed events against clean catch-up (issue 17); `poison.ratio` ≥ 0.5. */
  poison?: PoisonResults;
  /** What the machine was doing besides: load averages before and after the run (noisy figures). */
  load?: { before: string; after: string };
  /** The rate the latency phases (fan-out latency, live lag) offered, and the raw rate it is a share of. */
  offeredRate?: OfferedRate;
  /** `--cores`: each pass's figures, the system under test pinned to that many cores; the last pass is the figures above. */
  coreScaling?: CorePass[];
  /** Parts that ran without producing a figure, and why. */
  failures: Failure[];
  date: string;
  /** The work tree had uncommitted changes. */
  dirty: boolean;
  /** The settings each part ran with. */
  plan: Partial<Record<Part, unknown>>;
  /** When each part was measured: parts of one file can come from separate runs of the same sha and N. */
  measuredAt: Partial<Record<Part, string>>;
}

export interface RunOutcome {
  plan: BenchPlan;
  sha: string;
  dirty: boolean;
  machine: MachineInfo;
  append?: AppendResults;
  fanout?: FanoutResults;
  projector?: ProjectorResults;
  rebuild?: ThroughputFigure;
  poison?: PoisonResults;
  offeredRate?: OfferedRate;
  coreScaling?: CorePass[];
  failures: Failure[];
  finishedAt: Date;
  load?: { before: string; after: string };
}

/** One pass of a `--cores` run: its figures with the system under test on `cores` cores. */
export interface CorePass {
  cores: number;
  append?: AppendResults;
  fanout?: FanoutResults;
  catchup?: ProjectorResults['catchup'];
  liveLag?: ProjectorResults['liveLag'];
  rebuild?: ThroughputFigure;
  poison?: PoisonResults;
  offeredRate?: OfferedRate;
  /** Sub-parts of the pass that reported no figure (listed under the results' failures). */
  failures: number;
}

/** The part a failure belongs to, from its name (`catchup.oneWorker` → projector, `append (1 cores)` → append). */
export function partOfFailure(name: string): Part {
  const head = name.split(/[.\s]/)[0]!;
  if (head === 'catchup' || head === 'liveLag' || head === 'memory') return 'projector';
  return head as Part;
}

/**
 * Builds this run's results. When the file of the same day and sha already
 * holds results for the same N (say `pnpm bench append` then `pnpm bench
 * fanout`), the parts this run did not measure are kept from it, so one
 * file holds both; each ratio still divides by a baseline of its own run.
 */
export function buildResults(
  outcome: RunOutcome,
  previous: BenchResults | undefined,
): BenchResults {
  const { plan } = outcome;
  const ran = new Set<Part>(plan.parts);
  const keep =
    previous && previous.n === plan.n && previous.sha === outcome.sha ? previous : undefined;
  const at = outcome.finishedAt.toISOString();
  const results: BenchResults = {
    n: plan.n,
    sha: outcome.sha,
    machine: outcome.machine,
    verified: true,
    failures: [
      ...(keep?.failures ?? []).filter((f) => !ran.has(partOfFailure(f.part))),
      ...outcome.failures,
    ],
    date: at.slice(0, 10),
    dirty: outcome.dirty || (keep?.dirty ?? false),
    plan: { ...keep?.plan },
    measuredAt: { ...keep?.measuredAt },
  };
  const pick = <T extends object>(part: Part, current: T | undefined, kept: T | undefined) => {
    if (!ran.has(part)) return kept;
    results.plan[part] = plan[part];
    results.measuredAt[part] = at;
    return current && Object.values(current).some((figure) => figure !== undefined)
      ? current
      : undefined;
  };
  results.append = pick('append', outcome.append, keep?.append);
  results.fanout = pick('fanout', outcome.fanout, keep?.fanout);
  const projector = pick(
    'projector',
    outcome.projector,
    keep && { catchup: keep.catchup, liveLag: keep.liveLag, memory: keep.memory },
  );
  if (projector?.catchup) results.catchup = projector.catchup;
  if (projector?.liveLag) results.liveLag = projector.liveLag;
  if (projector?.memory) results.memory = projector.memory;
  results.rebuild = pick('rebuild', outcome.rebuild, keep?.rebuild);
  results.poison = pick('poison', outcome.poison, keep?.poison);
  results.load = outcome.load ?? keep?.load;
  const latencyRan = ran.has('fanout') || ran.has('projector');
  const offeredRate = latencyRan ? outcome.offeredRate : keep?.offeredRate;
  if (offeredRate) results.offeredRate = offeredRate;
  const coreScaling = outcome.coreScaling ?? keep?.coreScaling;
  if (coreScaling) results.coreScaling = coreScaling;
  results.verified = results.failures.length === 0;
  return results;
}

/**
 * Where this run's results go: `<date>-<sha>.json`, unless that file holds
 * results for another N (a quick run after a full one, say), then
 * `<date>-<sha>-n<N>.json`, so that no run overwrites another N's figures.
 */
export function resultsPaths(dir: string, date: string, sha: string, n: number) {
  let base = join(dir, `${date}-${sha}`);
  const existing = readPrevious(`${base}.json`);
  if (existing && existing.n !== n) base = `${base}-n${n}`;
  return { json: `${base}.json`, markdown: `${base}.md` };
}

/** The results in a file, or undefined when it does not exist or cannot be read. */
export function readPrevious(path: string): BenchResults | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BenchResults;
  } catch {
    return undefined;
  }
}

export function writeResults(
  dir: string,
  results: BenchResults,
): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const paths = resultsPaths(dir, results.date, results.sha, results.n);
  writeFileSync(paths.json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(paths.markdown, markdown(results));
  return paths;
}

const check = (ok: boolean) => (ok ? 'met' : 'missed');

/** What the write API says about the phase's transactions. */
function groupCommitNote(stats: unknown): string {
  if (!stats) return '';
  const g = stats as GroupCommitStats;
  return ` Group commit: ${fmt(g.transactions)} transactions, ${g.appendsPerTransaction} appends and ${g.msPerTransaction} ms each; ${g.msPerAppend} ms per append in the store.`;
}

/** CPU milliseconds per request of write-api's phase and of the HTTP floor's (append-figure.ts). */
function cpuPerRequestNote(figure: ThroughputFigure): string {
  const own = figure.cpuMsPerRequest as CpuPerRequest | undefined;
  const floor = figure.httpFloorCpuMsPerRequest as CpuPerRequest | undefined;
  if (!own || !floor) return '';
  const cell = (c: CpuPerRequest) =>
    `client ${c.client}, server ${c.services}, postgres ${c.postgres}`;
  return ` CPU ms per request: write-api phase ${cell(own)}; HTTP floor phase ${cell(floor)}.`;
}

/** Where a phase's time went: average cores per group (see cpu-meter.ts). */
function cpuNote(label: string, cpu: unknown): string {
  if (!cpu) return '';
  const c = cpu as CpuShare;
  return ` ${label} cores: client ${c.client}, services ${c.services}, postgres ${c.postgres}, redis ${c.redis}, other ${c.other}, stolen ${c.stolen ?? 0}.`;
}

/** The targets of issue 20: ratios and margins over floors of the same run. */
export const TARGETS = {
  single32HttpRatio: 1.2,
  batch100HttpRatio: 0.9,
  /** fanout.latencyMs.p99 ≤ its hops-alone floor's p99 + this. */
  fanoutOverFloorMs: 1,
  /** liveLag.p99Ms ≤ its floor's p99 + this. */
  liveLagOverFloorMs: 10,
} as const;

function throughputRow(name: string, figure: ThroughputFigure | undefined, target: number): string {
  if (!figure) return `| ${name} | – | – | – | ≥ ${target} |`;
  return `| ${name} | ${fmt(figure.eventsPerSec)} | ${fmt(figure.baseline)} | ${figure.ratio.toFixed(2)} | ≥ ${target} (${check(figure.ratio >= target)}) |`;
}

/** An append figure against raw Postgres: context since issue 20, the target is against the HTTP floor. */
function contextRow(name: string, figure: ThroughputFigure | undefined): string {
  if (!figure) return `| ${name} | – | – | – | context |`;
  return `| ${name} | ${fmt(figure.eventsPerSec)} | ${fmt(figure.baseline)} (Postgres only) | ${figure.ratio.toFixed(2)} | context |`;
}

/** An append figure against the HTTP floor of the same requests (`httpFloor`, `httpRatio`). */
export function httpFloorRow(
  name: string,
  figure: ThroughputFigure | undefined,
  target: number,
): string {
  const floor = figure?.httpFloor as number | undefined;
  const httpRatio = figure?.httpRatio as number | undefined;
  if (!figure || floor === undefined || httpRatio === undefined) {
    return `| ${name}.httpRatio | – | – | – | ≥ ${target} |`;
  }
  return `| ${name}.httpRatio | ${fmt(figure.eventsPerSec)} | ${fmt(floor)} (HTTP floor) | ${httpRatio.toFixed(2)} | ≥ ${target} (${check(httpRatio >= target)}) |`;
}

/** `p99 ≤ floor p99 + margin`, met or missed; without a floor, only the target. */
export function overFloorTarget(p99: number | undefined, floor: unknown, marginMs: number): string {
  const floorP99 = (floor as LatencyFigure | undefined)?.p99;
  if (p99 === undefined || floorP99 === undefined) return `p99 ≤ floor p99 + ${marginMs} ms`;
  const limit = Math.round((floorP99 + marginMs) * 100) / 100;
  return `p99 ≤ floor p99 + ${marginMs} ms = ${limit} ms (${check(p99 <= limit)})`;
}

function latencyRow(figure: LatencyFigure | undefined): string {
  const target = overFloorTarget(figure?.p99, figure?.floor, TARGETS.fanoutOverFloorMs);
  if (!figure) return `| fanout.latencyMs p50 / p99 / max | – | – | – | ${target} |`;
  return `| fanout.latencyMs p50 / p99 / max | ${figure.p50} / ${figure.p99} / ${figure.max} ms | ${floorCell(figure.floor)} | – | ${target} |`;
}

/** A latency baseline measured through the hops alone (baselines/hop-floor.ts). */
function floorCell(floor: unknown): string {
  const f = floor as LatencyFigure | undefined;
  return f ? `${f.p50} / ${f.p99} / ${f.max} ms (hops alone)` : '–';
}

/** The results as a Markdown table with what each row measured. */
export function markdown(results: BenchResults): string {
  const { machine } = results;
  const lines = [
    `# Benchmark ${results.date} ${results.sha}${results.dirty ? ' (work tree had changes)' : ''}`,
    '',
    `N = ${fmt(results.n)}; ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB; Node ${machine.node}, Postgres ${machine.postgres} (synchronous_commit=${machine.synchronousCommit}), Redis ${machine.redis}. Verified: ${results.verified ? 'yes' : 'NO'}.`,
    '',
    '| figure | events/s or latency | raw baseline | ratio | target |',
    '|---|---|---|---|---|',
  ];
  const notes: string[] = [];
  if (results.append || results.plan.append) {
    const a = results.append;
    lines.push(httpFloorRow('append.batch100', a?.batch100, TARGETS.batch100HttpRatio));
    lines.push(httpFloorRow('append.single32', a?.single32, TARGETS.single32HttpRatio));
    lines.push(contextRow('append.batch100', a?.batch100));
    lines.push(contextRow('append.single32', a?.single32));
    if (a?.batch100) {
      notes.push(
        `append.batch100: ${fmt(a.batch100.events as number)} events in ${fmt(a.batch100.requests as number)} requests (${a.batch100.eventsPerRequest} events each on average: requests hold one stream's events, ≤100), ${a.batch100.clients} clients; baselines: INSERT of ${a.batch100.baselineRowsPerStatement} rows per statement, 1 connection (Postgres only); the HTTP floor: the same requests and clients to a minimal fastify server doing one multi-row INSERT per request.${groupCommitNote(a.batch100.groupCommit)}${cpuNote('Figure', a.batch100.cpu)}${cpuNote('HTTP floor', a.batch100.httpFloorCpu)}${cpuNote('Baseline', a.batch100.baselineCpu)}${cpuPerRequestNote(a.batch100)}`,
      );
    }
    if (a?.single32) {
      notes.push(
        `append.single32: ${fmt(a.single32.events as number)} events, one per request, ${a.single32.clients} clients; baselines: single-row INSERT transactions from ${a.single32.clients} connections (Postgres only); the HTTP floor: the same requests and clients to a minimal fastify server doing one INSERT … RETURNING position per request.${groupCommitNote(a.single32.groupCommit)}${cpuNote('Figure', a.single32.cpu)}${cpuNote('HTTP floor', a.single32.httpFloorCpu)}${cpuNote('Baseline', a.single32.baselineCpu)}${cpuPerRequestNote(a.single32)}`,
      );
    }
  }
  if (results.fanout || results.plan.fanout) {
    const f = results.fanout;
    lines.push(latencyRow(f?.latencyMs));
    lines.push(throughputRow('fanout.backlog', f?.backlog, 0.5));
    if (f?.latencyMs) {
      const l = f.latencyMs;
      notes.push(
        `fanout.latencyMs: ${fmt(l.events as number)} appends offered at ${fmt(l.offeredPerSec as number)}/s (achieved ${fmt(l.achievedPerSec as number)}/s) after ${fmt((l.warmUpAppends as number) ?? 0)} of warm-up (not counted), one event each, relay: ${l.relay}; ${l.visibleBeforeAck} entries were read before their append's acknowledgement was processed (counted as 0).${cpuNote('Phase', l.cpu)} Baseline: the same appends at the same rate as single-row INSERTs with a NOTIFY, a relay process that reads each notified row and XADDs it, the same tail: the hops without commit order, checkpoints or partitions.${cpuNote('Baseline', (l.floor as { cpu?: unknown } | undefined)?.cpu)}`,
      );
    }
    if (f?.backlog) {
      notes.push(
        `fanout.backlog: ${fmt(f.backlog.events as number)} stored events, relay (${f.backlog.relay}) from checkpoint 0 to the head in ${f.backlog.seconds} s; baseline: pipelined XADD of the same entries, ${fmt(f.backlog.baselinePipelineSize as number)} per partition pipeline, in ${f.backlog.baselineSeconds} s.${cpuNote('Figure', f.backlog.cpu)}${cpuNote('Baseline', f.backlog.baselineCpu)}`,
      );
    }
  }
  if (results.catchup || results.plan.projector) {
    const c = results.catchup;
    lines.push(throughputRow('catchup.oneWorker', c?.oneWorker, 0.6));
    const two = c?.twoWorkers;
    lines.push(
      two
        ? `| catchup.twoWorkers | ${fmt(two.eventsPerSec)} | (oneWorker's) | ${two.ratio.toFixed(2)} | – |`
        : '| catchup.twoWorkers | – | – | – | – |',
    );
    const l = results.liveLag;
    lines.push(
      l
        ? `| liveLag p50 / p99 / max | ${l.p50Ms} / ${l.p99Ms} / ${l.maxMs} ms | ${floorCell(l.floor)} | – | ${overFloorTarget(l.p99Ms, l.floor, TARGETS.liveLagOverFloorMs)} |`
        : `| liveLag p50 / p99 / max | – | – | – | ${overFloorTarget(undefined, undefined, TARGETS.liveLagOverFloorMs)} |`,
    );
    const m = results.memory;
    lines.push(
      m
        ? `| memory.workerPeakRssMb | ${m.workerPeakRssMb} MB | – | – | ≤ 200 MB (${check(m.workerPeakRssMb <= 200)}) |`
        : '| memory.workerPeakRssMb | – | – | – | ≤ 200 MB |',
    );
    if (c?.oneWorker) {
      const o = c.oneWorker;
      notes.push(
        `catchup.oneWorker: ${fmt(o.events as number)} stored events, published by a relay beforehand; one services/projector-worker process with both projections, from its registering them to both checkpoints at the head of every partition in ${o.seconds} s (${o.secondsFromSpawn} s from spawn); baseline: the projections' own batched upserts applied straight from the events table, one connection, no Redis, in ${o.baselineSeconds} s.${cpuNote('Figure', o.cpu)}${cpuNote('Baseline', o.baselineCpu)}`,
      );
    }
    if (two) {
      notes.push(
        `catchup.twoWorkers: the same with two worker processes and fresh tables, ${two.seconds} s (${two.secondsFromSpawn} s from spawn); peak RSS ${(two.workerPeakRssMb as number[]).join(' and ')} MB.${cpuNote('Figure', two.cpu)}`,
      );
    }
    if (l) {
      notes.push(
        `liveLag: ${fmt(l.events as number)} appends offered at ${fmt((l.offeredRate ?? l.offeredPerSec) as number)}/s (achieved ${fmt((l.achievedRate ?? l.achievedPerSec) as number)}/s) after ${fmt((l.warmUpAppends as number) ?? 0)} of warm-up (not counted), one event per request through write-api with its relay inside, ${l.workers} workers; visibility = arrival of the checkpoint notification (LISTEN) covering the append's position, sent by the batch transaction that writes its order_summary row; ${l.visibleBeforeAck} were visible before their acknowledgement was processed (counted as 0).${cpuNote('Phase', l.cpu)} Baseline: the fan-out's hop floor extended by a worker process that reads the stream and commits one transaction per read (BEGIN, a checkpoint UPDATE, an upsert per stream and per customer, NOTIFY, COMMIT), with appends straight to Postgres rather than over HTTP: a lower bound for the path.${cpuNote('Baseline', (l.floor as { cpu?: unknown } | undefined)?.cpu)}`,
      );
    }
  }
  if (results.rebuild || results.plan.rebuild) {
    const r = results.rebuild;
    lines.push(throughputRow('rebuild', r, 0.7));
    lines.push(
      r
        ? `| rebuild.swapPauseMs / failedReads | ${r.swapPauseMs} ms / ${r.failedReads} | – | – | ≤ 500 ms (${check((r.swapPauseMs as number) <= 500)}) / 0 (${check(r.failedReads === 0)}) |`
        : '| rebuild.swapPauseMs / failedReads | – | – | – | ≤ 500 ms / 0 |',
    );
    if (r) {
      notes.push(
        `rebuild: customer_stats v1 → v2 over ${fmt(r.events as number)} events (applied to v2 by the rebuild) in ${r.seconds} s from the request to the swap, via ${r.via}, while ${fmt(r.appendsDuring as number)} events were appended through write-api (offered at ${fmt(r.appendRatePerSec as number)}/s, achieved ${fmt(r.appendsAchievedPerSec as number)}/s) and one worker kept both projections live; ${fmt(r.reads as number)} reads of customer_stats every ${r.readEveryMs} ms, ${r.failedReads} failed (the query errored${r.firstReadError ? `: ${r.firstReadError}` : ''}), ${r.backwardReads} saw fewer customers or placed orders than the read before (the swap lands on the position the replay reached, which can be behind what the workers had applied to v1), slowest ${r.slowestReadMs} ms; swap pause: how long the live workers waited on the swap (the job's record). Baseline: customer_stats alone applied raw over the stored events in ${r.baselineSeconds} s.${cpuNote('Figure', r.cpu)}${cpuNote('Baseline', r.baselineCpu)}`,
      );
    }
  }
  if (results.poison || results.plan.poison) {
    const p = results.poison;
    lines.push(
      p
        ? `| poison.ratio | ${fmt(p.eventsPerSec)} | ${fmt(p.cleanEventsPerSec)} (clean catch-up) | ${p.ratio.toFixed(2)} | ≥ 0.5 (${check(p.ratio >= 0.5)}) |`
        : '| poison.ratio | – | – | – | ≥ 0.5 |',
    );
    if (p) {
      notes.push(
        `poison: ${fmt(p.events)} stored events caught up by one worker with both projections in ${p.seconds} s, ${fmt(p.malformed)} ItemAdded of them with unitPrice as a JSON number (parked by each projection, after one immediate retry) and ${fmt(p.parkedBehind)} later events of their orders parked behind them (quarantine), the breaker off; baseline: the same worker over the clean log in ${p.cleanSeconds} s, same run.${cpuNote('Figure', p.cpu)}${cpuNote('Baseline', p.cleanCpu)}`,
      );
    }
  }
  if (results.offeredRate) {
    const o = results.offeredRate;
    notes.push(
      `Offered rate of fanout.latencyMs and liveLag: ${fmt(o.perSec)}/s = min(2,000/s, 40% of ${fmt(o.rawSingleRowPerSec)}/s, the raw single-row rate of this run's ${o.from === 'probe' ? 'probe (single-row INSERT transactions on a fresh log)' : 'append.single32 baseline'}).`,
    );
  }
  if (results.load) {
    notes.push(
      `Machine load (uptime) before the run: ${results.load.before}; after: ${results.load.after}. The machine is shared: other work competes with the figures.`,
    );
  }
  lines.push('', ...notes.map((note) => `- ${note}`));
  if (results.coreScaling) lines.push('', ...coreScalingSection(results.coreScaling));
  if (results.failures.length > 0) {
    lines.push('', '**Failed (no figure reported):**', '');
    for (const failure of results.failures) lines.push(`- ${failure.part}: ${failure.error}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The headline figures of a pass, by key: the rows of the core-scaling table. */
export function scalingFigures(pass: CorePass): [key: string, value: string][] {
  const rows: [string, string][] = [];
  const throughput = (key: string, f: ThroughputFigure | undefined, extra: string[] = []) => {
    if (!f) return;
    rows.push([key, `${fmt(f.eventsPerSec)}/s (ratio ${f.ratio.toFixed(2)})`]);
    for (const detail of extra) {
      const value = f[detail];
      if (typeof value === 'number') rows.push([`${key}.${detail}`, value.toFixed(2)]);
    }
  };
  throughput('append.batch100', pass.append?.batch100, ['httpRatio']);
  throughput('append.single32', pass.append?.single32, ['httpRatio']);
  const latency = pass.fanout?.latencyMs;
  if (latency) {
    const floor = (latency.floor as LatencyFigure | undefined)?.p99;
    rows.push(['fanout.latencyMs.p99', `${latency.p99} ms (floor ${floor ?? '–'} ms)`]);
  }
  throughput('fanout.backlog', pass.fanout?.backlog);
  throughput('catchup.oneWorker', pass.catchup?.oneWorker);
  if (pass.liveLag) {
    const floor = (pass.liveLag.floor as LatencyFigure | undefined)?.p99;
    rows.push(['liveLag.p99Ms', `${pass.liveLag.p99Ms} ms (floor ${floor ?? '–'} ms)`]);
  }
  if (pass.offeredRate) rows.push(['offeredRate', `${fmt(pass.offeredRate.perSec)}/s`]);
  throughput('rebuild', pass.rebuild);
  if (pass.poison)
    rows.push([
      'poison',
      `${fmt(pass.poison.eventsPerSec)}/s (ratio ${pass.poison.ratio.toFixed(2)})`,
    ]);
  return rows;
}

/** A table of every figure by core count: how each scales with the cores it is given. */
export function coreScalingSection(passes: readonly CorePass[]): string[] {
  const byPass = passes.map((pass) => new Map(scalingFigures(pass)));
  const keys = [...new Set(byPass.flatMap((figures) => [...figures.keys()]))];
  const lines = [
    '## Core scaling',
    '',
    'The system under test (write-api and the other spawned services, the floor servers, the Postgres backends of the run database) pinned to the first N cores with taskset; the load generator, the postmaster and Redis are not pinned.',
    '',
    `| figure | ${passes.map((pass) => `${pass.cores} core${pass.cores === 1 ? '' : 's'}`).join(' | ')} |`,
    `|---|${passes.map(() => '---|').join('')}`,
  ];
  for (const key of keys) {
    lines.push(`| ${key} | ${byPass.map((figures) => figures.get(key) ?? '–').join(' | ')} |`);
  }
  const failed = passes.filter((pass) => pass.failures > 0);
  if (failed.length > 0) {
    lines.push(
      '',
      `Passes with failed sub-parts (see below): ${failed.map((pass) => `${pass.cores} cores (${pass.failures})`).join(', ')}.`,
    );
  }
  return lines;
}
