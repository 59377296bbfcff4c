/**
 * The dev stack as a process (`pnpm start`, `refract dev`). Two processes,
 * so that a Ctrl-C stops the stack in order:
 *
 * - the launcher (`runDevStack` in the terminal's foreground) starts the
 *   stack process in a session of its own and relays each
 *   SIGINT/SIGTERM/SIGHUP to it, then exits with its exit code;
 * - the stack process (`main.ts` with `--stack`) loads the application
 *   module, then runs Redis, Postgres and the services as its children.
 *
 * A terminal's Ctrl-C signals its whole foreground process group. Were the
 * children in it, Postgres would begin a fast shutdown (and Redis quit)
 * while write-api still drains its requests; in their own session they hear
 * only the stack process, which stops them one after another. If the
 * launcher dies (even by SIGKILL), its IPC channel closes and the stack
 * stops itself, so nothing is left running.
 *
 * Signals and exit codes are handled here and nowhere else.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AppChoice,
  AppLoadError,
  configArgument,
  loadApp,
  resolveAppPath,
} from '@refract/app-loader';
import type { RefractApp } from '@refract/core';
import { createLogger, type Logger, prettyStream } from '@refract/observability';
import { writeAddWorker } from './add-worker.js';
import { bannerFields, formatBanner } from './banner.js';
import { ConfigError, loadConfig } from './config.js';
import { killAll } from './processes.js';
import { type Stack, type StackConfig, startStack } from './stack.js';

const STACK_FLAG = '--stack';
/** The stack process runs `main` beside this file: main.ts from the source, main.js once built. */
const STACK_ENTRY = fileURLToPath(
  new URL(`./main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Exit codes: 0 stopped cleanly, 1 failed (start, a child died, unclean
 * stop), 2 bad config or application module, 130 forced.
 */
const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;
const EXIT_FORCED = 130;
/** A signal this soon after the first is the same Ctrl-C delivered twice, not a second one. */
const DUPLICATE_SIGNAL_MS = 500;

export interface DevStackOptions extends AppChoice {
  /**
   * How the banner says to run the CLI against the stack.
   * @defaultValue 'refract'
   */
  cli?: string;
}

/**
 * Runs the dev stack: `options.appPath` (the CLI's `--config`), else the
 * `--config` of `options.argv`, else REFRACT_CONFIG, else refract.config.ts
 * in the working directory. The process exits when the stack does.
 */
export async function runDevStack(options: DevStackOptions = {}): Promise<void> {
  const stackFlag = process.argv.indexOf(STACK_FLAG);
  if (stackFlag < 0) return launch(options);
  // The stack process: the launcher put the CLI's name right after the flag.
  const cli = process.argv[stackFlag + 1];
  await runStack(cli === undefined || cli.startsWith('--') ? 'refract' : cli);
}

function launch({ cli = 'refract', ...choice }: DevStackOptions): void {
  // The user's module goes along: the stack process reads `--config` itself.
  const forwarded =
    choice.appPath !== undefined
      ? ['--config', choice.appPath]
      : (choice.argv ?? process.argv).slice(2);
  const child = spawn(
    process.execPath,
    [...process.execArgv, STACK_ENTRY, STACK_FLAG, cli, ...forwarded],
    { detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  for (const signal of SIGNALS) process.on(signal, () => child.kill(signal));
  child.once('error', (error) => {
    process.stderr.write(`dev-stack: cannot start the stack process: ${error.message}\n`);
    process.exit(EXIT_FAILED);
  });
  child.once('exit', (code, signal) => {
    process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
  });
}

async function runStack(cli: string): Promise<void> {
  let config: StackConfig;
  let app: RefractApp;
  try {
    const loaded = loadConfig(process.env, { configArgument: configArgument(process.argv) });
    config = { ...loaded, appPath: await resolveAppPath(loaded.appPath, loaded.workDir) };
    // Before anything starts: the stack needs its pools and demos, and a bad
    // module is better named here than by every service that would load it.
    app = await loadApp(config.appPath);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof AppLoadError)) throw error;
    process.stderr.write(`dev-stack: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const logger = createLogger({
    service: 'dev-stack',
    level: config.logLevel,
    // process.stdout, not pino's asynchronous default: write-api's lines are
    // relayed through it too, and one writer keeps every line in order.
    destination: config.logPretty ? prettyStream(process.stdout) : process.stdout,
  });
  // The last resort: whatever way this process ends, no child outlives it.
  process.on('exit', () => killAll());
  process.on('uncaughtException', (error) => fail(logger, error, 'uncaught exception'));
  process.on('unhandledRejection', (reason) => fail(logger, reason, 'unhandled rejection'));

  const aborted = new AbortController();
  let stack: Stack | undefined;
  let stopping: Promise<never> | undefined;
  const stop = (reason: string, exitCode: number) => {
    stopping ??= (async () => {
      logger.info({ reason }, 'stopping the stack (Ctrl-C again to force)');
      aborted.abort();
      const started = await startup;
      const clean = started ? await started.close() : true;
      logger.info({ clean }, 'stack stopped');
      process.exit(exitCode === 0 && !clean ? EXIT_FAILED : exitCode);
    })();
  };
  let firstSignalAt = 0;
  for (const signal of SIGNALS) {
    process.on(signal, () => {
      if (!stopping) {
        firstSignalAt = Date.now();
        return stop(signal, 0);
      }
      // One Ctrl-C can arrive twice: from the terminal and relayed by pnpm.
      if (Date.now() - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
      logger.warn({ signal }, 'forced stop');
      stack?.kill();
      killAll();
      process.exit(EXIT_FORCED);
    });
  }
  // The launcher is gone (its IPC channel closed): stop, nobody is watching.
  process.on('disconnect', () => stop('the launcher exited', EXIT_FAILED));
  process.channel?.unref();

  const startup = startStack(config, app, logger, aborted.signal, {
    onFailure: (reason) => {
      logger.error({ reason }, 'the stack cannot go on: stopping the rest');
      stop(reason, EXIT_FAILED);
    },
  }).then(
    (started) => {
      stack = started;
      return started;
    },
    (error: unknown) => {
      if (!stopping) {
        // The message says what went wrong (with the child's last lines); the trace is for debugging.
        logger.debug({ err: error }, 'start failed');
        logger.error(`could not start the stack: ${(error as Error).message}`);
        process.exit(EXIT_FAILED);
      }
      return undefined;
    },
  );
  // Gone before the handler above was listening: 'disconnect' will not come again.
  // (Without any IPC, `main.ts --stack` was started by hand: nothing to watch.)
  if (process.send !== undefined && !process.connected) stop('the launcher exited', EXIT_FAILED);
  const started = await startup;
  if (!started || stopping) return;

  // On a terminal the block below says it all; in JSON one record carries the same fields.
  const addWorker = await writeAddWorker(started, {
    dataDir: config.dataDir,
    workDir: config.workDir,
    cli,
    // After the stack's own workers, which take WORKER_PORT onwards.
    nextPort:
      Math.max(
        config.workerPort - 1,
        ...started.pools.flatMap((p) => p.workerUrls.map((url) => Number(new URL(url).port))),
      ) + 1,
  }).catch((error: unknown) => {
    logger.warn({ err: error }, 'could not write the add-worker script');
    return undefined;
  });
  const fields = bannerFields(started, {
    ratePerSecond: config.demo.ratePerSecond,
    pid: process.pid,
    cli,
    workDir: config.workDir,
    addWorker,
  });
  if (config.logPretty) process.stdout.write(`${formatBanner(fields)}\n`);
  else logger.info(fields, 'stack ready');
}

function fail(logger: Logger, error: unknown, message: string): never {
  logger.fatal({ err: error }, message);
  killAll();
  process.exit(EXIT_FAILED);
}
