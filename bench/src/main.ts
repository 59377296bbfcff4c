import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { runAppend } from './append.js';
import { buildServices, profileInto, REPO_ROOT } from './child.js';
import { parseCores, pinTo } from './cores.js';
import { runFanout } from './fanout.js';
import { loadAverage, machineInfo, revision } from './machine.js';
import { measureOfferedRate, type OfferedRate, withOfferedRate } from './offered-rate.js';
import {
  type BenchPlan,
  describePlan,
  FULL_EVENTS,
  makePlan,
  PARTS,
  type Part,
  QUICK_EVENTS,
  type RelayChoice,
} from './plan.js';
import { runPoison } from './poison.js';
import { say } from './progress.js';
import { runProjector } from './projector.js';
import { runRebuild } from './rebuild.js';
import {
  buildResults,
  type CorePass,
  markdown,
  type RunOutcome,
  readPrevious,
  resultsPaths,
  writeResults,
} from './report.js';
import { attempt, type Failure } from './report-types.js';
import { BenchStack } from './stack.js';

/** Stopping children (10 s grace at most) and dropping the database fit in this. */
const CLEAN_UP_LIMIT_MS = 30_000;

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

interface CliOptions {
  cores?: number[];
  cpuProf?: string;
  quick?: boolean;
  n?: number;
  relay: RelayChoice;
  phaseTimeout: number;
}

function positiveInteger(text: string): number {
  const value = Number(text.replaceAll('_', ''));
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError('must be a positive integer');
  }
  return value;
}

function coreCounts(text: string): number[] {
  try {
    return parseCores(text);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const program = new Command()
  .name('pnpm bench')
  .description(
    'Measures the reference-workload figures on a fresh database, each against a raw baseline of the same run, and writes bench/results/<date>-<sha>.json and .md.',
  )
  .addArgument(new Argument('[part]', 'what to measure').choices([...PARTS, 'all']).default('all'))
  .addOption(new Option('--quick', `N = ${QUICK_EVENTS.toLocaleString('en-US')}`).conflicts('n'))
  .addOption(
    new Option(
      '--n <events>',
      `N, the workload size (default ${FULL_EVENTS.toLocaleString('en-US')})`,
    ).argParser(positiveInteger),
  )
  .addOption(
    new Option('--relay <kind>', 'the relay of the fan-out part; auto: services/relay when present')
      .choices(['auto', 'service', 'in-process'])
      .default('auto'),
  )
  .addOption(
    new Option(
      '--cores <counts>',
      "pin the system under test (services, floor servers, the run database's Postgres backends) to 1, 2, … cores: one pass per count, e.g. 1,2",
    ).argParser(coreCounts),
  )
  .addOption(
    new Option(
      '--cpu-prof <dir>',
      'the spawned services and floor servers write V8 CPU profiles (node --cpu-prof) into dir',
    ),
  )
  .addOption(
    new Option('--phase-timeout <seconds>', 'a phase that runs longer fails the run')
      .argParser(positiveInteger)
      .default(600),
  )
  .action(async (part: Part | 'all', options: CliOptions) => {
    const n = options.n ?? (options.quick ? QUICK_EVENTS : FULL_EVENTS);
    if (n < 2_000) throw new InvalidArgumentError('--n must be at least 2,000');
    const plan = makePlan({
      parts: part === 'all' ? [...PARTS] : [part],
      n,
      relay: options.relay,
      phaseTimeoutS: options.phaseTimeout,
      cores: options.cores,
    });
    if (options.cpuProf) {
      mkdirSync(options.cpuProf, { recursive: true });
      profileInto(resolve(options.cpuProf));
    }
    process.exitCode = await run(plan);
  });

async function run(plan: BenchPlan): Promise<number> {
  const { sha, dirty } = revision(REPO_ROOT);
  say(`refract bench at ${sha}${dirty ? ' (work tree has changes)' : ''}`);
  for (const line of describePlan(plan)) say(`  ${line}`);
  // Services run their build, as in production: built here so it is this tree's.
  buildServices();

  const stack = await BenchStack.start({
    adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
  });
  // Ctrl-C reaches this process twice (from the terminal and relayed by
  // tsx), so later signals are ignored while the clean-up runs; the clean-up
  // is bounded, and a timer ends the process should it hang anyway.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping and cleaning up`);
    setTimeout(() => {
      say('clean-up did not finish in time; exiting');
      process.exit(1);
    }, CLEAN_UP_LIMIT_MS).unref();
    void stack.close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const machine = await machineInfo(stack);
    const loadBefore = loadAverage();
    const failures: Failure[] = [];
    const passes: Pass[] = [];
    for (const cores of plan.cores ?? [undefined]) {
      if (interrupted) break;
      if (cores !== undefined) say(`pass on ${cores} core${cores === 1 ? '' : 's'}`);
      passes.push(await runPass(stack, plan, cores, () => interrupted));
    }
    // The last pass (the most cores) gives the figures; every pass its row of the core scaling.
    const last = passes.at(-1);
    for (const pass of passes) {
      for (const failure of pass.failures) {
        failures.push(
          pass === last || pass.cores === undefined
            ? failure
            : { part: `${failure.part} (${pass.cores} cores)`, error: failure.error },
        );
      }
    }
    // An interrupted run reports nothing: its failures are the clean-up's doing.
    if (interrupted) return 130;
    const finishedAt = new Date();
    const date = finishedAt.toISOString().slice(0, 10);
    const results = buildResults(
      {
        plan,
        sha,
        dirty,
        machine,
        ...last?.figures,
        offeredRate: last?.offeredRate,
        coreScaling: plan.cores ? passes.map(corePass) : undefined,
        failures,
        finishedAt,
        load: { before: loadBefore, after: loadAverage() },
      },
      readPrevious(resultsPaths(RESULTS_DIR, date, sha, plan.n).json),
    );
    const paths = writeResults(RESULTS_DIR, results);
    process.stdout.write(`\n${markdown(results)}\n`);
    say(`results: ${paths.json}\n         ${paths.markdown}`);
    return results.verified ? 0 : 1;
  } finally {
    await stack.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

interface Pass {
  cores: number | undefined;
  figures: Pick<RunOutcome, 'append' | 'fanout' | 'projector' | 'rebuild' | 'poison'>;
  offeredRate: OfferedRate | undefined;
  failures: Failure[];
}

/** The parts asked for, once, with the system under test pinned to `cores` (unpinned: undefined). */
async function runPass(
  stack: BenchStack,
  basePlan: BenchPlan,
  cores: number | undefined,
  interrupted: () => boolean,
): Promise<Pass> {
  pinTo(cores, stack);
  try {
    const failures: Failure[] = [];
    const asked = (part: Part) => basePlan.parts.includes(part) && !interrupted();
    const append = asked('append')
      ? await attempt('append', failures, () => runAppend(stack, basePlan, failures))
      : undefined;
    // The latency phases offer a share of this pass's raw single-row rate.
    let plan = basePlan;
    let offeredRate: OfferedRate | undefined;
    if (asked('fanout') || asked('projector')) {
      const part = asked('fanout') ? 'fanout.offeredRate' : 'liveLag.offeredRate';
      offeredRate = await attempt(part, failures, () =>
        measureOfferedRate(stack, basePlan, append),
      );
      if (offeredRate) {
        say(
          `latency phases offer ${offeredRate.perSec}/s: 40% of ${offeredRate.rawSingleRowPerSec}/s raw single-row (${offeredRate.from}), at most 2,000/s`,
        );
        plan = withOfferedRate(basePlan, offeredRate.perSec);
      }
    }
    const fanout = asked('fanout')
      ? await attempt('fanout', failures, () => runFanout(stack, plan, failures))
      : undefined;
    const projector = asked('projector')
      ? await attempt('projector', failures, () => runProjector(stack, plan, failures))
      : undefined;
    const rebuild = asked('rebuild')
      ? await attempt('rebuild', failures, () => runRebuild(stack, plan))
      : undefined;
    const poison = asked('poison')
      ? await attempt('poison', failures, () => runPoison(stack, plan))
      : undefined;
    return {
      cores,
      figures: { append, fanout, projector, rebuild, poison },
      offeredRate,
      failures,
    };
  } finally {
    pinTo(undefined, stack);
  }
}

function corePass(pass: Pass): CorePass {
  const { projector, ...figures } = pass.figures;
  return {
    cores: pass.cores ?? 0,
    ...figures,
    catchup: projector?.catchup,
    liveLag: projector?.liveLag,
    offeredRate: pass.offeredRate,
    failures: pass.failures.length,
  };
}

await program.parseAsync();
