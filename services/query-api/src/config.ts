import { readYourWrites } from '@refract/contract';
import { type ApiToken, apiTokensOf, env } from '@refract/service-kit';
import { z } from 'zod';

export { ConfigError } from '@refract/service-kit';

/** Every setting of the query API; each variable is documented in the README. */
const schema = z.object({
  QUERY_API_PORT: env.port().default(4001),
  QUERY_API_HOST: z.string().default('127.0.0.1'),
  QUERY_API_TOKEN: env.token.optional(),
  REFRACT_API_TOKENS: env.apiTokens.optional(),
  REFRACT_INSECURE_NO_AUTH: env.boolean.default(false),
  DATABASE_URL: env.databaseUrl,
  LOG_LEVEL: env.logLevel,
  LOG_PRETTY: env.boolean.default(false),
  QUERY_API_DB_POOL_SIZE: env.positiveInt('a positive integer').default(10),
  QUERY_API_READY_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(1000),
  QUERY_API_SHUTDOWN_TIMEOUT_MS: env
    .positiveInt('a positive number of milliseconds')
    .default(10_000),
  QUERY_API_RECHECK_MS: env.positiveInt('a positive number of milliseconds').default(1000),
  QUERY_API_MAX_TIMEOUT_MS: env
    .positiveInt('a positive number of milliseconds')
    .default(readYourWrites.DEFAULT_MAX_TIMEOUT_MS),
  QUERY_API_BODY_LIMIT_BYTES: env.positiveInt('a positive number of bytes').default(1_048_576),
  REFRACT_CONFIG: z.string().optional(),
});

export interface Config {
  port: number;
  host: string;
  /**
   * The bearer tokens let in (QUERY_API_TOKEN, REFRACT_API_TOKENS); empty only
   * on a loopback host or with --insecure-no-auth (REFRACT_INSECURE_NO_AUTH=1).
   */
  tokens: ApiToken[];
  databaseUrl: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  logPretty: boolean;
  dbPoolSize: number;
  readyTimeoutMs: number;
  /** In-flight requests get this long to finish after SIGTERM before the process gives up. */
  shutdownTimeoutMs: number;
  /** While requests wait for checkpoints, how often they are re-read in case a notification was lost. */
  recheckMs: number;
  /** The longest `timeoutMs` a read may ask to wait for a checkpoint. */
  maxTimeoutMs: number;
  /** Larger request bodies are answered 413. */
  bodyLimitBytes: number;
  /** The application module; `--config` wins, and without either `refract.config.ts` in the working directory is looked for. */
  appPath: string | undefined;
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
    host: c.QUERY_API_HOST,
    hostVariable: 'QUERY_API_HOST',
    token: c.QUERY_API_TOKEN,
    tokenVariable: 'QUERY_API_TOKEN',
    scopes: ['read'],
    listed: c.REFRACT_API_TOKENS,
    insecureNoAuth: options.insecureNoAuth === true || c.REFRACT_INSECURE_NO_AUTH,
  });
  return {
    tokens,
    port: c.QUERY_API_PORT,
    host: c.QUERY_API_HOST,
    databaseUrl: c.DATABASE_URL,
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY,
    dbPoolSize: c.QUERY_API_DB_POOL_SIZE,
    readyTimeoutMs: c.QUERY_API_READY_TIMEOUT_MS,
    shutdownTimeoutMs: c.QUERY_API_SHUTDOWN_TIMEOUT_MS,
    recheckMs: c.QUERY_API_RECHECK_MS,
    maxTimeoutMs: c.QUERY_API_MAX_TIMEOUT_MS,
    bodyLimitBytes: c.QUERY_API_BODY_LIMIT_BYTES,
    appPath: c.REFRACT_CONFIG,
  };
}
