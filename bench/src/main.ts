import { fileURLToPath } from 'node:url';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { runAppend } from './append.js';
import { buildServices, REPO_ROOT } from './child.js';
import { runFanout } from './fanout.js';
import { loadAverage, machineInfo, revision } from './machine.js';
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
import { buildResults, markdown, readPrevious, resultsPaths, writeResults } from './report.js';
import { attempt, type Failure } from './report-types.js';
import { BenchStack } from './stack.js';

/** Stopping children (10 s grace at most) and dropping the database fit in this. */
const CLEAN_UP_LIMIT_MS = 30_000;

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

interface CliOptions {
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
    });
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
    const append = plan.parts.includes('append')
      ? await attempt('append', failures, () => runAppend(stack, plan, failures))
      : undefined;
    const fanout =
      plan.parts.includes('fanout') && !interrupted
        ? await attempt('fanout', failures, () => runFanout(stack, plan, failures))
        : undefined;
    const projector =
      plan.parts.includes('projector') && !interrupted
        ? await attempt('projector', failures, () => runProjector(stack, plan, failures))
        : undefined;
    const rebuild =
      plan.parts.includes('rebuild') && !interrupted
        ? await attempt('rebuild', failures, () => runRebuild(stack, plan))
        : undefined;
    const poison =
      plan.parts.includes('poison') && !interrupted
        ? await attempt('poison', failures, () => runPoison(stack, plan))
        : undefined;
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
        append,
        fanout,
        projector,
        rebuild,
        poison,
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

await program.parseAsync();
