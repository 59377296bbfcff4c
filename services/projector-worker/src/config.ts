import { env } from '@refract/service-kit';
import { z } from 'zod';

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
  WORKER_HOST: z.string().default('0.0.0.0'),
  WORKER_SHUTDOWN_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(15_000),
  LOG_LEVEL: env.logLevel,
  /** The application module; `--config` wins; unset, refract.config.ts in the working directory. */
  REFRACT_CONFIG: z.string().optional(),
});

export type WorkerConfig = z.infer<typeof schema> & { projections: string[] | null };

/**
 * Parses the environment once; empty variables are unset, every bad variable
 * is listed in a ConfigError, no value is echoed.
 */
export function loadConfig(vars: env.Variables = process.env): WorkerConfig {
  const config = env.parse(schema, vars);
  const names = config.PROJECTIONS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return { ...config, projections: names && names.length > 0 ? names : null };
}
