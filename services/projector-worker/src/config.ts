import { z } from 'zod';

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`);

const schema = z.object({
  DATABASE_URL: z
    .string({ error: 'is required: a postgres:// connection string' })
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection string'),
  REDIS_URL: z
    .string({ error: 'is required: a redis:// URL' })
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL'),
  REDIS_KEY_PREFIX: z.string().max(100, 'must be at most 100 characters').default('refract:'),
  POOL: z
    .string({ error: 'is required: the worker pool this process joins' })
    .regex(/^[a-z][a-z0-9_-]{0,40}$/, 'must be a lower-case name'),
  /** Comma-separated projection names; empty = every projection of the pool. */
  PROJECTIONS: z.string().optional(),
  WORKER_BATCH_SIZE: positiveInt('a positive number of events').default(500),
  WORKER_LEASE_TTL_MS: positiveInt('a positive number of milliseconds').default(5000),
  WORKER_HEARTBEAT_MS: positiveInt('a positive number of milliseconds').default(1000),
  WORKER_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int('must be an integer')
    .min(0, 'must be from 0 to 65535')
    .max(65535, 'must be from 0 to 65535')
    .default(4020),
  WORKER_HOST: z.string().default('0.0.0.0'),
  WORKER_SHUTDOWN_TIMEOUT_MS: positiveInt('a positive number of milliseconds').default(15_000),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

export type WorkerConfig = z.infer<typeof schema> & { projections: string[] | null };

/** Parses the environment once; every bad variable is listed, no value is echoed. */
export function loadConfig(env: Record<string, string | undefined> = process.env): WorkerConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new Error(
      `invalid configuration:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  const names = result.data.PROJECTIONS?.split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return { ...result.data, projections: names && names.length > 0 ? names : null };
}
