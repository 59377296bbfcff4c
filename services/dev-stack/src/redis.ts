import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@refract/observability';
import type { PortChoice } from './config.js';
import { choosePort } from './ports.js';
import {
  describeExit,
  type ExitStatus,
  type SupervisedProcess,
  spawnSupervised,
} from './processes.js';

export interface RedisOptions {
  /** Use this Redis as it is; nothing is started. */
  url: string | undefined;
  serverBin: string;
  /** Where a bare `serverBin` name is looked up: the PATH. */
  searchPath: string;
  port: PortChoice;
  /** The child's working directory (nothing is written there: persistence is off). */
  workDir: string;
  readyTimeoutMs: number;
  logger: Logger;
}

export interface RedisHandle {
  url: string;
  /** The redis-server this stack started, or undefined when REDIS_URL was given. */
  process: SupervisedProcess | undefined;
  /** Stops the redis-server this stack started; idempotent. */
  close(timeoutMs: number): Promise<void>;
}

/** redis-server is missing: says what to install. */
export class RedisServerNotFoundError extends Error {
  constructor(bin: string) {
    super(
      `${bin} was not found${bin.includes('/') ? '' : ' on the PATH'}. pnpm start runs a local Redis ` +
        'when REDIS_URL is unset; install it (Debian/Ubuntu: sudo apt-get install redis-server; ' +
        'macOS: brew install redis), or set REDIS_URL to a Redis you run yourself.',
    );
    this.name = 'RedisServerNotFoundError';
  }
}

/** Lines kept for the error message when redis-server fails. */
const TAIL_LINES = 20;

/**
 * REDIS_URL when set; otherwise a redis-server from the PATH as a child,
 * on 127.0.0.1 only and without persistence: Redis is a cache of the log
 * (docs/architecture.md, invariant 9), so every start begins with empty streams
 * and the relay and workers heal them from Postgres.
 */
export async function startRedis(options: RedisOptions): Promise<RedisHandle> {
  if (options.url !== undefined) {
    return { url: options.url, process: undefined, close: async () => {} };
  }
  const bin = await findExecutable(options.serverBin, options.searchPath);
  if (bin === undefined) throw new RedisServerNotFoundError(options.serverBin);
  const port = await choosePort(options.port, 'Redis');
  await mkdir(options.workDir, { recursive: true });

  const logger = options.logger.child({ child: 'redis-server' });
  const tail: string[] = [];
  const child = spawnSupervised({
    name: 'redis-server',
    command: bin,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      // As in docker-compose.yml: refuse writes rather than drop stream entries.
      '--maxmemory-policy',
      'noeviction',
    ],
    env: {},
    cwd: options.workDir,
    onLine: (line) => {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
      logger.debug(line);
    },
  });
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPing(port, child, options.readyTimeoutMs);
  } catch (error) {
    await child.stop(1000);
    throw new Error(`${(error as Error).message}\n${tail.join('\n')}`);
  }
  logger.info({ url, pid: child.pid }, 'redis-server started');
  return {
    url,
    process: child,
    close: async (timeoutMs) => {
      const status = await child.stop(timeoutMs);
      logger.info({ exit: describeExit(status) }, 'redis-server stopped');
    },
  };
}

/** The absolute path of `bin` (a path, or a name looked up on the PATH), if it is executable. */
async function findExecutable(bin: string, searchPath: string): Promise<string | undefined> {
  const candidates = bin.includes('/')
    ? [bin]
    : searchPath
        .split(delimiter)
        .filter((dir) => dir !== '')
        .map((dir) => join(dir, bin));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

/** Sends PING until +PONG, the child dies, or the time is up. */
async function waitForPing(
  port: number,
  child: SupervisedProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: ExitStatus | undefined;
  void child.exited.then((status) => {
    exit = status;
  });
  for (;;) {
    if (exit) throw new Error(`redis-server ${describeExit(exit)} before it was ready`);
    if (await ping(port)) return;
    if (Date.now() > deadline) {
      throw new Error(`redis-server did not answer PING on port ${port} within ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}
