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

export interface WriteApiOptions {
  databaseUrl: string;
  redisUrl: string;
  redisKeyPrefix: string;
  port: number;
  logLevel: LogLevel;
  logPretty: boolean;
  /** Keep write-api's log line of every demo request (otherwise left out). */
  logDemoRequests: boolean;
  /** The environment write-api starts from; the settings above are laid over it. */
  baseEnv: Record<string, string>;
  cwd: string;
  readyTimeoutMs: number;
  logger: Logger;
  /** Aborts the wait for readiness (the child keeps running; the caller stops it). */
  signal: AbortSignal;
}

export interface WriteApiChild {
  /** e.g. `http://127.0.0.1:4000` */
  url: string;
  process: SupervisedProcess;
}

/**
 * Starts services/write-api from its TypeScript source (node with the
 * `@refract/source` condition and tsx, as `pnpm --filter @refract/write-api
 * dev` does) with the embedded relay on, and waits until `/readyz` answers
 * 200. It logs JSON, which passes through (pretty-printed on a terminal)
 * minus the request lines of the demo traffic: 20 a second would bury
 * everything else. Anything on its stderr (a crash trace) is wrapped in a
 * log record.
 */
export async function startWriteApi(options: WriteApiOptions): Promise<WriteApiChild> {
  const main = fileURLToPath(new URL('./main.ts', import.meta.resolve('@refract/write-api')));
  if (!existsSync(main)) {
    throw new Error(`write-api's entry ${main} was not found (is @refract/write-api installed?)`);
  }
  const tsx = import.meta.resolve('tsx');
  const logger = options.logger.child({ child: 'write-api' });
  const out = options.logPretty ? prettyStream(process.stdout) : process.stdout;
  const passThrough = (line: string) => {
    if (!options.logDemoRequests && isDemoRequestLine(line)) return;
    out.write(`${line}\n`);
  };
  const child = spawnSupervised({
    name: 'write-api',
    command: process.execPath,
    args: ['--conditions=@refract/source', '--import', tsx, main],
    cwd: options.cwd,
    env: {
      ...options.baseEnv,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: options.redisKeyPrefix,
      WRITE_API_PORT: String(options.port),
      LOG_LEVEL: options.logLevel,
      LOG_PRETTY: 'false',
      RELAY_MODE: 'embedded',
    },
    onLine: (line, stream) => {
      if (stream === 'stdout') passThrough(line);
      else logger.warn({ stream }, line);
    },
  });
  const url = `http://127.0.0.1:${options.port}`;
  await waitForReady(`${url}/readyz`, child, options);
  logger.info({ url, pid: child.pid }, 'write-api ready');
  return { url, process: child };
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
  options: WriteApiOptions,
): Promise<void> {
  let exit: ExitStatus | undefined;
  void child.exited.then((status) => {
    exit = status;
  });
  const deadline = Date.now() + options.readyTimeoutMs;
  for (;;) {
    if (exit) throw new Error(`write-api ${describeExit(exit)} before it was ready`);
    options.signal.throwIfAborted();
    try {
      const response = await fetch(readyz, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {}
    if (Date.now() > deadline) {
      throw new Error(`write-api was not ready at ${readyz} within ${options.readyTimeoutMs} ms`);
    }
    await sleep(200, undefined, { signal: options.signal });
  }
}
