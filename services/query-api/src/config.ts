import { z } from 'zod';

const port = z.coerce
  .number({ error: 'must be a port number' })
  .int('must be an integer')
  .min(0, 'must be from 0 to 65535')
  .max(65535, 'must be from 0 to 65535');

const positiveInt = (what: string) =>
  z.coerce
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`);

const boolean = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

/** Every setting of the query API; each variable is documented in the README. */
const schema = z.object({
  QUERY_API_PORT: port.default(4001),
  QUERY_API_HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z
    .string({ error: 'is required: a postgres:// connection string' })
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection string'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  LOG_PRETTY: boolean.default(false),
  QUERY_API_DB_POOL_SIZE: positiveInt('a positive integer').default(10),
  QUERY_API_READY_TIMEOUT_MS: positiveInt('a positive number of milliseconds').default(1000),
  QUERY_API_SHUTDOWN_TIMEOUT_MS: positiveInt('a positive number of milliseconds').default(10_000),
  QUERY_API_RECHECK_MS: positiveInt('a positive number of milliseconds').default(1000),
});

export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  logPretty: boolean;
  dbPoolSize: number;
  readyTimeoutMs: number;
  /** In-flight requests get this long to finish after SIGTERM before the process gives up. */
  shutdownTimeoutMs: number;
  /** While requests wait for checkpoints, how often they are re-read in case a notification was lost. */
  recheckMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once at start-up; the only reader of process.env.
 * Every bad variable is reported at once. Values are never echoed: one of
 * them is a connection string that may hold a password.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable (`FOO=` in a .env file) means "not set", not "0" or "".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  const c = result.data;
  return {
    port: c.QUERY_API_PORT,
    host: c.QUERY_API_HOST,
    databaseUrl: c.DATABASE_URL,
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY,
    dbPoolSize: c.QUERY_API_DB_POOL_SIZE,
    readyTimeoutMs: c.QUERY_API_READY_TIMEOUT_MS,
    shutdownTimeoutMs: c.QUERY_API_SHUTDOWN_TIMEOUT_MS,
    recheckMs: c.QUERY_API_RECHECK_MS,
  };
}
