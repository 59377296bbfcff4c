import { type ApiToken, apiTokensOf, env } from '@refract/service-kit';
import { z } from 'zod';

export { ConfigError } from '@refract/service-kit';

/** Every setting of the write API; each variable is documented in the README. */
const schema = z
  .object({
    WRITE_API_PORT: env.port().default(4000),
    WRITE_API_HOST: z.string().default('127.0.0.1'),
    WRITE_API_TOKEN: env.token.optional(),
    REFRACT_API_TOKENS: env.apiTokens.optional(),
    REFRACT_INSECURE_NO_AUTH: env.boolean.default(false),
    DATABASE_URL: env.databaseUrl,
    LOG_LEVEL: env.logLevel,
    LOG_PRETTY: env.boolean.default(false),
    WRITE_API_BODY_LIMIT_BYTES: env.positiveInt('a positive number of bytes').default(1024 * 1024),
    WRITE_API_DB_POOL_SIZE: env.positiveInt('a positive integer').default(10),
    WRITE_API_COMMIT_CONCURRENCY: env.positiveInt('a positive integer').default(2),
    WRITE_API_READY_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(1000),
    COMMAND_IDEMPOTENCY_TTL_SECONDS: env
      .positiveInt('a positive number of seconds')
      .default(86_400),
    WRITE_API_SHUTDOWN_TIMEOUT_MS: env
      .positiveInt('a positive number of milliseconds')
      .default(10_000),
    RELAY_MODE: z
      .enum(['embedded', 'off'], { error: 'must be embedded or off' })
      .default('embedded'),
    REDIS_URL: env.redisUrl.optional(),
    REDIS_KEY_PREFIX: env.redisKeyPrefix,
    RELAY_WINDOW_SIZE: env.positiveInt('a positive number of entries').default(100_000),
    RELAY_BATCH_SIZE: env.positiveInt('a positive number of events').default(2000),
    REFRACT_CONFIG: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    if (c.RELAY_MODE === 'embedded' && c.REDIS_URL === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message:
          'is required while RELAY_MODE=embedded (the relay publishes to Redis); set it, or set RELAY_MODE=off and run services/relay',
      });
    }
  });

export interface Config {
  /** REFRACT_CONFIG: the application module (`--config` wins); unset, the default file in the working directory. */
  appPath: string | undefined;
  port: number;
  host: string;
  /**
   * The bearer tokens let in (WRITE_API_TOKEN, REFRACT_API_TOKENS); empty only
   * on a loopback host or with --insecure-no-auth (REFRACT_INSECURE_NO_AUTH=1).
   */
  tokens: ApiToken[];
  databaseUrl: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  logPretty: boolean;
  bodyLimitBytes: number;
  dbPoolSize: number;
  /** Group-commit transactions in flight at once; appends arriving meanwhile share the next one. */
  commitConcurrency: number;
  readyTimeoutMs: number;
  /** How long a command's Idempotency-Key is kept: a retry within it gets the first result. */
  commandIdempotencyTtlSeconds: number;
  /** In-flight requests get this long to finish after SIGTERM before the process gives up. */
  shutdownTimeoutMs: number;
  /** The relay runs inside this process (competing for leadership), or not at all. */
  relay:
    | {
        mode: 'embedded';
        redisUrl: string;
        keyPrefix: string;
        windowSize: number;
        batchSize: number;
      }
    | { mode: 'off' };
}

/**
 * Parses the environment once at start-up; the only reader of process.env.
 * Empty variables are unset; every bad variable is reported at once in a
 * ConfigError, and values are never echoed (service-kit's env.parse). No
 * token on a non-loopback host is a ConfigError too, unless
 * `options.insecureNoAuth` (`--insecure-no-auth`) or REFRACT_INSECURE_NO_AUTH.
 */
export function loadConfig(
  vars: env.Variables = process.env,
  options: { insecureNoAuth?: boolean } = {},
): Config {
  const c = env.parse(schema, vars);
  const tokens = apiTokensOf({
    host: c.WRITE_API_HOST,
    hostVariable: 'WRITE_API_HOST',
    token: c.WRITE_API_TOKEN,
    tokenVariable: 'WRITE_API_TOKEN',
    scopes: ['read', 'write'],
    listed: c.REFRACT_API_TOKENS,
    insecureNoAuth: options.insecureNoAuth === true || c.REFRACT_INSECURE_NO_AUTH,
  });
  return {
    tokens,
    appPath: c.REFRACT_CONFIG,
    port: c.WRITE_API_PORT,
    host: c.WRITE_API_HOST,
    databaseUrl: c.DATABASE_URL,
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY,
    bodyLimitBytes: c.WRITE_API_BODY_LIMIT_BYTES,
    dbPoolSize: c.WRITE_API_DB_POOL_SIZE,
    commitConcurrency: c.WRITE_API_COMMIT_CONCURRENCY,
    readyTimeoutMs: c.WRITE_API_READY_TIMEOUT_MS,
    shutdownTimeoutMs: c.WRITE_API_SHUTDOWN_TIMEOUT_MS,
    commandIdempotencyTtlSeconds: c.COMMAND_IDEMPOTENCY_TTL_SECONDS,
    relay:
      c.RELAY_MODE === 'embedded'
        ? {
            mode: 'embedded',
            redisUrl: c.REDIS_URL!,
            keyPrefix: c.REDIS_KEY_PREFIX,
            windowSize: c.RELAY_WINDOW_SIZE,
            batchSize: c.RELAY_BATCH_SIZE,
          }
        : { mode: 'off' },
  };
}
