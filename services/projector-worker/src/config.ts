import { env } from '@refract/service-kit';
import { z } from 'zod';

/** Every setting of the worker; each variable is documented in the README. */
const schema = z.object({
  DATABASE_URL: env.databaseUrl,
  REDIS_URL: env.redisUrl,
  REDIS_KEY_PREFIX: env.redisKeyPrefix,
  POOL: z
    .string({ error: 'is required: the worker pool this process joins' })
    .regex(/^[a-z][a-z0-9_-]{0,40}$/, 'must be a lower-case name'),
  /** Comma-separated projection names; empty = every projection of the pool. */
  PROJECTIONS: z.string().optional(),
  WORKER_BATCH_SIZE: env.positiveInt('a positive number of events').default(500),
  WORKER_CONCURRENT_BATCHES: env.positiveInt('a positive number of batches').default(4),
  WORKER_LEASE_TTL_MS: env.positiveInt('a positive number of milliseconds').default(5000),
  WORKER_HEARTBEAT_MS: env.positiveInt('a positive number of milliseconds').default(1000),
  WORKER_PORT: env.port().default(4020),
  WORKER_HOST: z.string().default('127.0.0.1'),
  WORKER_SHUTDOWN_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(15_000),
  LOG_LEVEL: env.logLevel,
  LOG_PRETTY: env.boolean.default(false),
  REFRACT_CONFIG: z.string().optional(),
});

export interface WorkerConfig {
  /** REFRACT_CONFIG: the application module (`--config` wins); unset, the default file in the working directory. */
  appPath: string | undefined;
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  pool: string;
  /** PROJECTIONS: the names to run; null = every projection of the pool. */
  projections: string[] | null;
  batchSize: number;
  concurrentBatches: number;
  leaseTtlMs: number;
  heartbeatMs: number;
  port: number;
  host: string;
  /** After SIGTERM the worker gets this long to finish its batches and release its leases. */
  shutdownTimeoutMs: number;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  logPretty: boolean;
}

/**
 * Parses the environment once; empty variables are unset, every bad variable
 * is listed in a ConfigError, no value is echoed.
 */
export function loadConfig(vars: env.Variables = process.env): WorkerConfig {
  const c = env.parse(schema, vars);
  const names = c.PROJECTIONS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return {
    appPath: c.REFRACT_CONFIG,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    keyPrefix: c.REDIS_KEY_PREFIX,
    pool: c.POOL,
    projections: names && names.length > 0 ? names : null,
    batchSize: c.WORKER_BATCH_SIZE,
    concurrentBatches: c.WORKER_CONCURRENT_BATCHES,
    leaseTtlMs: c.WORKER_LEASE_TTL_MS,
    heartbeatMs: c.WORKER_HEARTBEAT_MS,
    port: c.WORKER_PORT,
    host: c.WORKER_HOST,
    shutdownTimeoutMs: c.WORKER_SHUTDOWN_TIMEOUT_MS,
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY,
  };
}
