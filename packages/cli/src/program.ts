import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AdminClient } from './admin-client.js';
import { HELD_JOB_STATE } from './admin-types.js';
import { adminUrl, type CliConfig } from './config.js';
import { CliError, ExitCode } from './exit-codes.js';
import {
  formatAudit,
  formatJobLine,
  formatParked,
  formatParkedStreams,
  formatStatus,
} from './format.js';
import { SERVICE_HELP, type ServiceRunners, serviceRunners } from './services.js';
import { watchJob } from './watch-job.js';

type Output = NodeJS.WritableStream & { isTTY?: boolean };

export interface CliIo {
  /** Results (tables, or JSON with --json). */
  stdout: Output;
  /** Errors and progress. */
  stderr: Output;
  config: CliConfig;
  /** For heartbeat ages. @defaultValue Date.now */
  now?: () => number;
  /** Between two polls of a watched job. @defaultValue 1000 */
  watchIntervalMs?: number;
  /** How the service commands run their service. @defaultValue the service packages' run functions */
  services?: ServiceRunners;
}

interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/**
 * Runs one `refract` command line (the arguments after the program name) and
 * resolves to its exit code (`exit-codes.ts`). Nothing here exits the process
 * or reads process.env: bin/refract.ts does both. A service command hands
 * the process to its service, which reads its own variables and owns the
 * signals and the exit code from then on; it resolves once the service runs.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its message (or the help) already.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
        ? ExitCode.ok
        : ExitCode.usage;
    }
    if (error instanceof CliError) {
      io.stderr.write(`refract: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr.write(`refract: ${(error as Error).message ?? String(error)}\n`);
    return ExitCode.failed;
  }
}

function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('refract')
    .description("Run Refract's services, and operate a running install through its admin API.")
    .addOption(
      new Option(
        '--url <url>',
        `admin API base URL (env REFRACT_ADMIN_URL) [${io.config.adminUrl}]`,
      ).argParser(parseUrl),
    )
    .option('--token <token>', 'admin token (env REFRACT_ADMIN_TOKEN)')
    .option('--json', 'print JSON on standard output, for scripts')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 failed (job failed/cancelled, migration failed), 2 usage,\n' +
      '3 admin unreachable, 4 bad or missing token, 5 not found, 6 conflict,\n' +
      '7 a watched rebuild held in verifying (approve or cancel it).\n' +
      'A service command exits as its service does: 0 once stopped by SIGTERM/SIGINT,\n' +
      '1 for a bad variable or application module, a failed start or an unclean stop\n' +
      '(dev: 2 for a bad variable or module, 130 forced; see its README).',
  );

  const context = (command: Command) => {
    const options = command.optsWithGlobals<GlobalOptions>();
    const url = options.url ?? io.config.adminUrl;
    const client = new AdminClient({
      url,
      token: options.token ?? io.config.adminToken ?? localDevToken(url, io.config.devTokenFile),
    });
    const json = options.json === true;
    const print = (text: string, value: unknown): void => {
      io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
    };
    return { client, json, print };
  };

  const runners = io.services ?? serviceRunners;
  program.commandsGroup('Run the system (each command runs in this process):');
  serviceCommand(
    program,
    'write-api',
    'appends, commands and stream reads over HTTP',
    SERVICE_HELP.writeApi,
  )
    .addOption(configOption())
    .addOption(insecureNoAuthOption())
    .action((options: ConfigOptions & InsecureOptions) =>
      runners.writeApi({ appPath: options.config, insecureNoAuth: options.insecureNoAuth }),
    );
  serviceCommand(
    program,
    'relay',
    'the relay alone, for write-api with RELAY_MODE=off',
    SERVICE_HELP.relay,
  )
    .addOption(ignoredConfig())
    .action(() => runners.relay());
  serviceCommand(program, 'worker', 'one projector worker of a pool', SERVICE_HELP.worker)
    .addOption(configOption())
    .addOption(new Option('--pool <pool>', 'the pool to join (env POOL)').argParser(nonEmpty))
    .action((options: ConfigOptions & { pool?: string }) =>
      runners.worker({ appPath: options.config, pool: options.pool }),
    );
  serviceCommand(program, 'query-api', 'the projections over HTTP', SERVICE_HELP.queryApi)
    .addOption(configOption())
    .addOption(insecureNoAuthOption())
    .action((options: ConfigOptions & InsecureOptions) =>
      runners.queryApi({ appPath: options.config, insecureNoAuth: options.insecureNoAuth }),
    );
  serviceCommand(
    program,
    'admin',
    'the admin API, the lag dashboard and the rebuild worker',
    SERVICE_HELP.admin,
  )
    .addOption(configOption())
    .action((options: ConfigOptions) => runners.admin({ appPath: options.config }));
  program
    .command('migrate')
    .description('apply the event-store migrations to DATABASE_URL (directly, not through admin)')
    .addOption(ignoredConfig())
    .addHelpText('after', `\n${SERVICE_HELP.migrate}`)
    .addOption(new Option('--database-url <url>', 'Postgres to migrate (env DATABASE_URL)'))
    .addOption(
      new Option(
        '--partitions <n>',
        'partition count of a new install (env REFRACT_PARTITIONS)',
      ).argParser(parsePartitions),
    )
    .action(async (options: { databaseUrl?: string; partitions?: number }, command: Command) => {
      const { print } = context(command);
      const databaseUrl = options.databaseUrl ?? io.config.databaseUrl;
      if (databaseUrl === undefined) {
        throw new CliError(
          'DATABASE_URL is not set (or pass --database-url): it names the Postgres to migrate',
          ExitCode.usage,
        );
      }
      // Loaded here only: the other commands need no Postgres driver.
      const { migrate } = await import('@refract/event-store');
      let result: Awaited<ReturnType<typeof migrate>>;
      try {
        result = await migrate({
          databaseUrl,
          partitions: options.partitions ?? io.config.partitions,
          log: (line) => io.stderr.write(`${line}\n`),
        });
      } catch (error) {
        throw new CliError(`migrate failed: ${(error as Error).message}`, ExitCode.failed);
      }
      print(
        result.applied.length === 0
          ? `schema up to date (${result.partitions} partitions)`
          : `applied ${result.applied.join(', ')} (${result.partitions} partitions)`,
        result,
      );
    });

  serviceCommand(
    program,
    'dev',
    'the whole stack on this machine, with demo traffic',
    SERVICE_HELP.dev,
  )
    .addOption(configOption())
    .action((options: ConfigOptions) => runners.dev({ appPath: options.config }));

  program.commandsGroup('Operate a running install (through the admin API):');
  program
    .command('status')
    .description('projections (status, lag, events/s, parked, stalled), workers and the relay')
    .action(async (_options, command: Command) => {
      const { client, print } = context(command);
      const [projections, workers, relay] = await Promise.all([
        client.projections(),
        client.workers(),
        client.relay(),
      ]);
      const view = { projections, workers, relay };
      print(formatStatus(view, (io.now ?? Date.now)()), view);
    });

  // Shared by `job` and `rebuild status`, `cancel` and `rebuild cancel`.
  const jobAction = async (jobId: string, options: { watch?: boolean }, command: Command) => {
    const { client, print } = context(command);
    if (options.watch) return setExit(await watch(io, client, jobId, print));
    const job = await client.job(jobId);
    print(formatJobLine(job), job);
  };
  const cancelAction = async (jobId: string, _options: unknown, command: Command) => {
    const { client, print } = context(command);
    const body = await client.cancel(jobId);
    print(`job ${jobId} cancelled`, body);
  };

  const rebuild = program
    .command('rebuild')
    .description(
      'rebuild a projection blue/green as a background job; v+1 is compared with the live ' +
        'version before the swap, and an undeclared difference holds it in verifying ' +
        '(rebuild status/approve/cancel <jobId>)',
    )
    .argument('<projection>', 'projection name', nonEmpty)
    .option('-w, --watch', 'follow the job with a progress bar until it ends (or is held)')
    .option(
      '--expect-changes <spec>',
      "differences that do not hold the swap: 'any', or columns (table.column or column; counters for a counter projection), comma-separated",
      parseExpectChanges,
    )
    .action(
      async (
        projection: string,
        options: { watch?: boolean; expectChanges?: 'any' | string[] },
        command: Command,
      ) => {
        const { client, json, print } = context(command);
        const start = await client.rebuild(projection, options.expectChanges);
        if (!start.started) {
          io.stderr.write(
            `refract: a rebuild of "${projection}" is already running: job ${start.jobId}\n`,
          );
          if (!options.watch) {
            if (json) print('', { jobId: start.jobId, alreadyRunning: true });
            return setExit(ExitCode.conflict);
          }
        } else if (!options.watch) {
          return print(
            `rebuild of "${projection}" started: job ${start.jobId}\n` +
              `follow it: refract job ${start.jobId} --watch`,
            { jobId: start.jobId },
          );
        } else {
          io.stderr.write(`rebuild of "${projection}" started: job ${start.jobId}\n`);
        }
        setExit(await watch(io, client, start.jobId, print));
      },
    );

  rebuild
    .command('status')
    .description("a rebuild job's state, progress and cutover report")
    .argument('<jobId>', 'job id', nonEmpty)
    .option('-w, --watch', 'follow the job until it ends (or is held)')
    .action(jobAction);

  rebuild
    .command('approve')
    .description('swap a rebuild held in verifying (v+1 is caught up first)')
    .argument('<jobId>', 'job id', nonEmpty)
    .option('-w, --watch', 'follow the job until the swap')
    .action(async (jobId: string, options: { watch?: boolean }, command: Command) => {
      const { client, print } = context(command);
      const job = await client.approve(jobId);
      if (options.watch) return setExit(await watch(io, client, jobId, print));
      print(`job ${jobId} approved; it swaps once v+1 is caught up`, job);
    });

  rebuild
    .command('cancel')
    .description('cancel a rebuild job (held or running); the live version is untouched')
    .argument('<jobId>', 'job id', nonEmpty)
    .action(cancelAction);

  const reactor = program
    .command('reactor')
    .description("reactors (consumers that call the outside world): their effects' counts, replay");
  reactor
    .command('list')
    .description('each reactor with its effects: delivered, exactly once, at least once, pending')
    .action(async (_options, command: Command) => {
      const { client, print } = context(command);
      const reactors = await client.reactors();
      print(
        reactors.length === 0
          ? 'no reactors in the application'
          : reactors
              .map(
                (r) =>
                  `${r.name} (pool ${r.pool}): ${r.delivered} delivered, ${r.exactlyOnce} exactly once, ` +
                  `${r.atLeastOnce} at least once (maybe twice), ${r.pending} pending`,
              )
              .join('\n'),
        reactors,
      );
    });
  reactor
    .command('replay')
    .description(
      "handle a reactor's events again from a position; effects the ledger holds as done are not repeated",
    )
    .argument('<reactor>', 'reactor name', nonEmpty)
    .requiredOption(
      '--from <position>',
      'the first log position to handle again (0: all)',
      position,
    )
    .action(async (name: string, options: { from: number }, command: Command) => {
      const { client, print } = context(command);
      const body = await client.replayReactor(name, options.from);
      print(
        body.partitions.length === 0
          ? `reactor "${name}" is already before position ${options.from}: nothing moved`
          : `reactor "${name}" replays from position ${options.from} (partitions ${body.partitions.join(', ')})`,
        body,
      );
    });

  program
    .command('job')
    .description("a rebuild job's state and progress")
    .argument('<jobId>', 'job id', nonEmpty)
    .option('-w, --watch', 'follow the job until it ends')
    .action(jobAction);

  program
    .command('cancel')
    .description('cancel a rebuild job; the live version is untouched')
    .argument('<jobId>', 'job id', nonEmpty)
    .action(cancelAction);

  for (const [name, done, what] of [
    ['pause', 'paused', 'stop applying events to a projection (its lag grows)'],
    [
      'resume',
      'resumed',
      'apply events to a paused or tripped projection again (its parked streams are retried first)',
    ],
  ] as const) {
    program
      .command(name)
      .description(what)
      .argument('<projection>', 'projection name', nonEmpty)
      .action(async (projection: string, _options, command: Command) => {
        const { client, print } = context(command);
        const body = await client[name](projection);
        print(`projection "${projection}" ${done}`, body);
      });
  }

  program
    .command('audit')
    .description(
      'check that every event of a handled type at or below the checkpoints was applied or parked (exit 8 when not)',
    )
    .argument('<projection>', 'projection name', nonEmpty)
    .option('--full', 'count the whole log, not only what came after the last complete audit')
    .action(async (projection: string, options: { full?: boolean }, command: Command) => {
      const { client, print } = context(command);
      const audit = await client.audit(projection, options.full === true);
      print(formatAudit(audit), audit);
      if (!audit.complete) setExit(ExitCode.incomplete);
    });

  program
    .command('parked')
    .description(
      'list the quarantined streams of a projection (parked events grouped by stream), or retry/skip',
    )
    .argument('<projection>', 'projection name', nonEmpty)
    .addArgument(new Argument('[action]', 'what to do').choices(['retry', 'skip']))
    .argument('[id]', 'the parked event id (from `--events`); a retry replays its stream in order')
    .option('--all', 'retry: replay every quarantined stream, in order')
    .option(
      '--stream <streamId>',
      "skip: the stream's first parked event, releasing those behind it",
    )
    .option('--events', 'list every parked event, resolved ones included, not the streams')
    .option('--after <cursor>', 'list: the page after this cursor (printed under a full page)')
    .action(
      async (
        projection: string,
        action: 'retry' | 'skip' | undefined,
        id: string | undefined,
        options: { all?: boolean; stream?: string; events?: boolean; after?: string },
        command: Command,
      ) => {
        const { client, print } = context(command);
        if (action === undefined) {
          if (options.events) {
            const events = await client.parked(projection);
            return print(formatParked(projection, events), events);
          }
          const page = await client.parkedStreams(projection, options.after);
          return print(formatParkedStreams(projection, page), page);
        }
        if (action === 'retry' && options.all) {
          const result = await client.retryAllParked(projection);
          const failed = result.failed.map((f) => `\n  still parked: ${f.streamId}: ${f.error}`);
          return print(
            `"${projection}": ${result.streams} streams retried, ${result.applied} events applied${failed.join('')}`,
            result,
          );
        }
        if (action === 'skip' && options.stream !== undefined) {
          const body = await client.skipParkedStream(projection, options.stream);
          return print(
            `stream ${options.stream} of "${projection}": parked event ${body.id} skipped, the events behind it released`,
            body,
          );
        }
        if (id === undefined || id === '') {
          throw new CliError(
            `parked ${projection} ${action} needs the event id${action === 'retry' ? ' or --all' : ' or --stream <streamId>'}`,
            ExitCode.usage,
          );
        }
        const body = await client.resolveParked(projection, id, action);
        print(
          `parked event ${id} of "${projection}": ${action === 'retry' ? 'retried' : 'skipped'}`,
          body,
        );
      },
    );

  return program;
}

interface ConfigOptions {
  config?: string;
}

function serviceCommand(program: Command, name: string, summary: string, help: string): Command {
  return program.command(name).description(summary).addHelpText('after', `\n${help}`);
}

/** The application module of a service command; each service falls back the same way. */
function configOption(): Option {
  return new Option(
    '--config <path>',
    'the application module (env REFRACT_CONFIG, else ./refract.config.ts)',
  ).argParser(nonEmpty);
}

interface InsecureOptions {
  insecureNoAuth?: boolean;
}

/** write-api's and query-api's way past the token their non-loopback host otherwise requires. */
function insecureNoAuthOption(): Option {
  return new Option(
    '--insecure-no-auth',
    'listen beyond loopback without a token (env REFRACT_INSECURE_NO_AUTH=1): only behind a proxy that authenticates',
  );
}

/** For the commands that load no module: a script may pass every service the same options. */
function ignoredConfig(): Option {
  return new Option('--config <path>', 'accepted and ignored: this loads no application module');
}

/** Follows a job to its end; 0 when it completed, 1 when it failed or was cancelled. */
async function watch(
  io: CliIo,
  client: AdminClient,
  jobId: string,
  print: (text: string, value: unknown) => void,
): Promise<number> {
  const job = await watchJob({
    client,
    jobId,
    out: io.stderr,
    intervalMs: io.watchIntervalMs ?? 1000,
  });
  print(formatJobLine(job), job);
  if (job.state === HELD_JOB_STATE) return ExitCode.held;
  return job.state === 'completed' ? ExitCode.ok : ExitCode.failed;
}

/**
 * The token `pnpm start` generated, when admin is on this machine: after
 * `pnpm start`, `pnpm refract status` needs nothing else. Never sent to a
 * remote admin.
 */
function localDevToken(url: string, file: string): string | undefined {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) return undefined;
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function parseUrl(value: string): string {
  const parsed = adminUrl.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]!.message);
  return value;
}

function parseExpectChanges(value: string): 'any' | string[] {
  if (value.trim() === 'any') return 'any';
  const columns = value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  // Mixed case for counters of a counter projection (Postgres columns are lower case anyway).
  const bad = columns.find((c) => !/^([a-z][a-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/.test(c));
  if (columns.length === 0 || bad !== undefined) {
    throw new InvalidArgumentError(
      "must be 'any' or columns (table.column or column; counters for a counter projection), comma-separated",
    );
  }
  return columns;
}

function parsePartitions(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 4096) {
    throw new InvalidArgumentError('must be an integer from 1 to 4096');
  }
  return n;
}

function position(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('must be a log position (an integer, 0 or more)');
  }
  return n;
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('must not be empty');
  return value;
}
