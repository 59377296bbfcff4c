import { resolve } from 'node:path';
import type { LogLevel } from '@refract/observability';
import { env } from '@refract/service-kit';
import { z } from 'zod';

export { ConfigError } from '@refract/service-kit';

/** The demo traffic's seed unless DEMO_SEED says otherwise. */
export const DEFAULT_DEMO_SEED = 20_240_101;

/** Tried first for the embedded Postgres; another free port is taken when it is busy. */
export const DEFAULT_POSTGRES_PORT = 54329;
/** Where the local webhook sink listens unless DEV_STACK_WEBHOOK_PORT says (the orders example's default URL). */
export const DEFAULT_WEBHOOK_PORT = 4030;
/** Tried first for the local redis-server; another free port is taken when it is busy. */
export const DEFAULT_REDIS_PORT = 63799;

/** Every setting of `pnpm start`; each variable is documented in the README. */
const schema = z.object({
  REFRACT_CONFIG: z.string().optional(),
  DATABASE_URL: env.databaseUrl.optional(),
  REDIS_URL: env.redisUrl.optional(),
  REDIS_KEY_PREFIX: env.redisKeyPrefix,
  REFRACT_PARTITIONS: env.partitions.optional(),
  WRITE_API_PORT: env.port(1).default(4000),
  QUERY_API_PORT: env.port(1).default(4001),
  ADMIN_PORT: env.port(1).default(4002),
  /** As admin checks it, so that a short token fails here with the variable named. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The workers of all pools, one after another, listen on WORKER_PORT, WORKER_PORT + 1, … (skipping ports in use) */
  WORKER_PORT: env.port(1).default(4020),
  DEV_STACK_WEBHOOK_PORT: env.port(1).optional(),
  WEBHOOK_SINK_URL: z.url().optional(),
  DEV_STACK_WORKERS: z.coerce
    .number({ error: 'must be an integer from 0 to 32' })
    .int('must be an integer from 0 to 32')
    .min(0, 'must be an integer from 0 to 32')
    .max(32, 'must be an integer from 0 to 32')
    .default(2),
  LOG_LEVEL: env.logLevel,
  LOG_PRETTY: env.boolean.optional(),
  REFRACT_DATA_DIR: z.string().optional(),
  DEV_STACK_POSTGRES_PORT: env.port(1).optional(),
  DEV_STACK_REDIS_PORT: env.port(1).optional(),
  REDIS_SERVER_BIN: z.string().min(1).default('redis-server'),
  DEV_STACK_READY_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(60_000),
  DEV_STACK_STOP_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(15_000),
  DEV_STACK_CRASH_LIMIT: env.positiveInt('a positive number of crashes').default(5),
  DEV_STACK_CRASH_WINDOW_MS: env.positiveInt('a positive number of milliseconds').default(60_000),
  DEMO_RATE_PER_SECOND: z.coerce
    .number({ error: 'must be a number of commands per second (0 disables)' })
    .min(0, 'must be 0 (off) or more')
    .max(10_000, 'must be at most 10000')
    .default(20),
  DEMO_SEED: z.coerce
    .number({ error: 'must be an integer' })
    .int('must be an integer')
    .default(DEFAULT_DEMO_SEED),
  DEMO_STATUS_INTERVAL_MS: env.positiveInt('a positive number of milliseconds').default(10_000),
});

/** A port to listen on: `strict` when the user chose it (busy is an error), else a preference. */
export interface PortChoice {
  port: number;
  strict: boolean;
}

export interface Config {
  /**
   * The application module, absolute: `--config <path>`, else REFRACT_CONFIG
   * (relative to workDir). Unset: refract.config.ts (or .mts, .js, .mjs) in
   * workDir, as the services look for it.
   */
  appPath: string | undefined;
  /**
   * Where the command was typed (pnpm's INIT_CWD, else the working
   * directory): relative paths are taken from here, the services run here,
   * and `.refract/` is kept here unless REFRACT_DATA_DIR says otherwise.
   */
  workDir: string;
  /** Set: use this Postgres. Unset: start the embedded one. */
  databaseUrl: string | undefined;
  /** Set: use this Redis. Unset: start redis-server from the PATH. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  /** Partition count for the first migrate; the event store's default when unset. */
  partitions: number | undefined;
  writeApiPort: number;
  queryApiPort: number;
  adminPort: number;
  /** Set: admin uses it. Unset: the token kept in `<dataDir>/admin-token` (generated once). */
  adminToken: string | undefined;
  /** Processes in each pool of the application, listening on workerPort, workerPort + 1, … */
  workers: number;
  workerPort: number;
  /**
   * The local webhook sink for reactors: its port, or null when
   * WEBHOOK_SINK_URL names one of the user's (then passed through as it is).
   */
  webhookPort: PortChoice | null;
  logLevel: LogLevel;
  logPretty: boolean;
  /** Absolute; the embedded Postgres keeps its cluster in `<dataDir>/postgres`. */
  dataDir: string;
  postgresPort: PortChoice;
  redisPort: PortChoice;
  redisServerBin: string;
  /** How long each step of the start (Postgres, Redis, write-api's /readyz) may take. */
  readyTimeoutMs: number;
  /** How long a child gets after SIGTERM before it is killed. */
  stopTimeoutMs: number;
  /**
   * A service that dies is restarted; `crashLimit` crashes of one service
   * within `crashWindowMs` stop the stack instead.
   */
  supervision: { crashLimit: number; crashWindowMs: number };
  demo: {
    /** Commands per second; 0 sends none. */
    ratePerSecond: number;
    seed: number;
    statusIntervalMs: number;
  };
  /**
   * The environment handed to write-api: the caller's, so its own variables
   * (WRITE_API_*, RELAY_*, REDIS_KEY_PREFIX) pass through; the stack's
   * settings are laid over it.
   */
  childEnv: Record<string, string>;
}

export interface LoadConfigOptions {
  /** Whether standard output is a terminal: LOG_PRETTY's default. @defaultValue process.stdout.isTTY */
  isTty?: boolean;
  /** The command line's `--config <path>`, which wins over REFRACT_CONFIG. */
  configArgument?: string;
}

/**
 * Parses the environment once at start-up; the only reader of process.env.
 * Empty variables are unset; every bad variable is reported at once in a
 * ConfigError, and no value is echoed (service-kit's env.parse).
 */
export function loadConfig(
  vars: env.Variables = process.env,
  { isTty = process.stdout.isTTY === true, configArgument }: LoadConfigOptions = {},
): Config {
  const present = env.present(vars);
  const c = env.parse(schema, present);
  // pnpm runs the script in services/dev-stack; a relative path means the
  // directory the user typed `pnpm start` in (pnpm's INIT_CWD).
  const base = present.INIT_CWD ?? process.cwd();
  const dataDir = resolve(base, c.REFRACT_DATA_DIR ?? '.refract');
  const chosenApp = configArgument ?? c.REFRACT_CONFIG;
  return {
    appPath: chosenApp === undefined ? undefined : resolve(base, chosenApp),
    workDir: base,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    redisKeyPrefix: c.REDIS_KEY_PREFIX,
    partitions: c.REFRACT_PARTITIONS,
    writeApiPort: c.WRITE_API_PORT,
    queryApiPort: c.QUERY_API_PORT,
    adminPort: c.ADMIN_PORT,
    adminToken: c.ADMIN_TOKEN,
    workers: c.DEV_STACK_WORKERS,
    workerPort: c.WORKER_PORT,
    webhookPort:
      c.WEBHOOK_SINK_URL === undefined
        ? portChoice(c.DEV_STACK_WEBHOOK_PORT, DEFAULT_WEBHOOK_PORT)
        : null,
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY ?? isTty,
    dataDir,
    postgresPort: portChoice(c.DEV_STACK_POSTGRES_PORT, DEFAULT_POSTGRES_PORT),
    redisPort: portChoice(c.DEV_STACK_REDIS_PORT, DEFAULT_REDIS_PORT),
    redisServerBin: c.REDIS_SERVER_BIN,
    readyTimeoutMs: c.DEV_STACK_READY_TIMEOUT_MS,
    stopTimeoutMs: c.DEV_STACK_STOP_TIMEOUT_MS,
    supervision: {
      crashLimit: c.DEV_STACK_CRASH_LIMIT,
      crashWindowMs: c.DEV_STACK_CRASH_WINDOW_MS,
    },
    demo: {
      ratePerSecond: c.DEMO_RATE_PER_SECOND,
      seed: c.DEMO_SEED,
      statusIntervalMs: c.DEMO_STATUS_INTERVAL_MS,
    },
    childEnv: present,
  };
}

function portChoice(chosen: number | undefined, fallback: number): PortChoice {
  return chosen === undefined ? { port: fallback, strict: false } : { port: chosen, strict: true };
}
