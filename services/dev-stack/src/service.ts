import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Logger, type LogLevel, prettyStream } from '@refract/observability';
import { DEMO_REQUEST_ID_PREFIX } from './demo-traffic.js';
import {
  describeExit,
  type ExitStatus,
  type SupervisedProcess,
  spawnSupervised,
} from './processes.js';

export interface ServiceOptions {
  /** The name in logs and errors, e.g. `projector-worker-1`. */
  name: string;
  /** The service package whose `main` export runs, e.g. `@refract/write-api`. */
  packageName: string;
  /** The service's own variables (its port among them), laid over the shared ones. */
  env: Record<string, string>;
  /** The port its `/readyz` answers on. */
  port: number;
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  logLevel: LogLevel;
  logPretty: boolean;
  /** The application module, absolute: the service gets it as REFRACT_CONFIG. */
  appPath: string;
  /** Keep the log line of every demo request (otherwise left out). */
  logDemoRequests: boolean;
  /** The environment the service starts from; the settings above are laid over it. */
  baseEnv: Record<string, string>;
  cwd: string;
  readyTimeoutMs: number;
  logger: Logger;
  /** Aborts the wait for readiness (the child keeps running; the caller stops it). */
  signal: AbortSignal;
  /** Called with the child as soon as it is spawned, before it is ready. */
  onSpawn?: (child: SupervisedProcess) => void;
}

export interface ServiceChild {
  /** e.g. `http://127.0.0.1:4000` */
  url: string;
  process: SupervisedProcess;
}

/**
 * Starts a service from wherever its package is installed (its `main`
 * export: `dist/main.js`, or `src/main.ts` when the stack itself runs on the
 * workspace's TypeScript source, which the service then does too, with the
 * `@refract/source` condition and tsx as its `dev` script) and waits until
 * `/readyz` answers 200. It logs JSON, which passes through
 * (pretty-printed on a terminal) minus the request lines of the demo
 * traffic: 20 a second would bury everything else. Anything on its stderr
 * (a crash trace) is wrapped in a log record.
 */
export async function startService(options: ServiceOptions): Promise<ServiceChild> {
  const { name } = options;
  const main = entryOf(options.packageName);
  const logger = options.logger.child({ child: name });
  const out = options.logPretty ? prettyStream(process.stdout) : process.stdout;
  const passThrough = (line: string) => {
    if (!options.logDemoRequests && isDemoRequestLine(line)) return;
    out.write(`${line}\n`);
  };
  const child = spawnSupervised({
    name,
    command: process.execPath,
    args: main.endsWith('.ts')
      ? ['--conditions=@refract/source', '--import', import.meta.resolve('tsx'), main]
      : [main],
    cwd: options.cwd,
    env: {
      ...options.baseEnv,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: options.redisKeyPrefix,
      LOG_LEVEL: options.logLevel,
      LOG_PRETTY: 'false',
      REFRACT_CONFIG: options.appPath,
      ...options.env,
    },
    onLine: (line, stream) => {
      if (stream === 'stdout') passThrough(line);
      else logger.warn({ stream }, line);
    },
  });
  options.onSpawn?.(child);
  const url = `http://127.0.0.1:${options.port}`;
  await waitForReady(`${url}/readyz`, child, options);
  logger.info({ url, pid: child.pid }, `${name} ready`);
  return { url, process: child };
}

/** The file a service package runs as a process, resolved as this module's imports are. */
function entryOf(packageName: string): string {
  let main: string;
  try {
    main = fileURLToPath(import.meta.resolve(`${packageName}/main`));
  } catch (error) {
    throw new Error(`cannot find ${packageName}/main (is ${packageName} installed?)`, {
      cause: error,
    });
  }
  if (!existsSync(main)) {
    throw new Error(`${packageName}'s entry ${main} was not found (is it built?)`);
  }
  return main;
}

function isDemoRequestLine(line: string): boolean {
  if (!line.includes(`"reqId":"${DEMO_REQUEST_ID_PREFIX}`)) return false;
  try {
    const record = JSON.parse(line) as { msg?: unknown; reqId?: unknown };
    return (
      record.msg === 'request completed' &&
      typeof record.reqId === 'string' &&
      record.reqId.startsWith(DEMO_REQUEST_ID_PREFIX)
    );
  } catch {
    return false;
  }
}

async function waitForReady(
  readyz: string,
  child: SupervisedProcess,
  options: ServiceOptions,
): Promise<void> {
  let exit: ExitStatus | undefined;
  void child.exited.then((status) => {
    exit = status;
  });
  const deadline = Date.now() + options.readyTimeoutMs;
  for (;;) {
    if (exit) throw new Error(`${options.name} ${describeExit(exit)} before it was ready`);
    options.signal.throwIfAborted();
    try {
      const response = await fetch(readyz, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {}
    if (Date.now() > deadline) {
      throw new Error(
        `${options.name} was not ready at ${readyz} within ${options.readyTimeoutMs} ms`,
      );
    }
    await sleep(200, undefined, { signal: options.signal });
  }
}
