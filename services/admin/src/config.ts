import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { env } from '@refract/service-kit';
import { z } from 'zod';

export { ConfigError } from '@refract/service-kit';

/** Shorter tokens are guessable over a network; 32 hex characters is what dev mode generates. */
const MIN_TOKEN_LENGTH = 16;

/** Every setting of the admin service; each variable is documented in the README and .env.example. */
const schema = z
  .object({
    ADMIN_PORT: env.port().default(4002),
    ADMIN_HOST: z.string().default('127.0.0.1'),
    ADMIN_TOKEN: z
      .string()
      .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`)
      .optional(),
    ADMIN_READ_TOKENS: z
      .string()
      .transform((text) => text.split(/[\s,]+/).filter((token) => token !== ''))
      .pipe(
        z
          .array(
            z
              .string()
              .min(MIN_TOKEN_LENGTH, `must each be at least ${MIN_TOKEN_LENGTH} characters`),
          )
          .refine((tokens) => new Set(tokens).size === tokens.length, 'must not repeat a token'),
      )
      .optional(),
    ADMIN_STREAM_MAX_CLIENTS_PER_TOKEN: env.positiveInt('a positive integer').default(10),
    ADMIN_METRICS_REFRESH_MS: env.positiveInt('a positive number of milliseconds').default(5000),
    ADMIN_DEV_MODE: env.boolean.default(false),
    NODE_ENV: z.string().optional(),
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.redisKeyPrefix,
    LOG_LEVEL: env.logLevel,
    LOG_PRETTY: env.boolean.default(false),
    RELAY_NAME: z.string().max(100, 'must be at most 100 characters').default('main'),
    ADMIN_STALL_THRESHOLD_MS: env.positiveInt('a positive number of milliseconds').default(30_000),
    ADMIN_STREAM_INTERVAL_MS: env.positiveInt('a positive number of milliseconds').default(1000),
    ADMIN_STREAM_HEARTBEAT_MS: env.positiveInt('a positive number of milliseconds').default(15_000),
    ADMIN_HISTORY_INTERVAL_MS: env.positiveInt('a positive number of milliseconds').default(5000),
    ADMIN_HISTORY_WINDOW_MS: env
      .positiveInt('a positive number of milliseconds')
      .max(24 * 3_600_000, 'must be at most 86400000 (a day)')
      .default(15 * 60_000),
    ADMIN_LAG_COUNT_LIMIT: env.positiveInt('a positive number of events').default(1000),
    REFRACT_AUDIT_INTERVAL_MS: env.positiveInt('a positive number of milliseconds').default(60_000),
    ADMIN_REBUILD_WORKER: env.boolean.default(true),
    ADMIN_REBUILD_CONCURRENCY: env.positiveInt('a positive integer').default(1),
    ADMIN_DASHBOARD_DIR: z.string().optional(),
    ADMIN_DB_POOL_SIZE: env.positiveInt('a positive integer').default(5),
    ADMIN_READY_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(1000),
    ADMIN_SHUTDOWN_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(15_000),
    REFRACT_CONFIG: z.string().optional(),
  })
  .superRefine((c, ctx) => {
    const dev = c.ADMIN_DEV_MODE || c.NODE_ENV === 'development';
    if (!c.ADMIN_TOKEN && !dev) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_TOKEN'],
        message:
          'is required: the bearer token of the admin API (set ADMIN_DEV_MODE=true to generate one for development)',
      });
    }
    if (c.ADMIN_TOKEN && c.ADMIN_READ_TOKENS?.includes(c.ADMIN_TOKEN)) {
      ctx.addIssue({
        code: 'custom',
        path: ['ADMIN_READ_TOKENS'],
        message: 'must not hold ADMIN_TOKEN: a token is either read-only or the operator one',
      });
    }
  });

export interface Config {
  /** REFRACT_CONFIG: the application module (`--config` wins); unset, the default file in the working directory. */
  appPath: string | undefined;
  port: number;
  host: string;
  /** ADMIN_TOKEN: the operator token, which every protected endpoint takes. */
  token: string;
  /** ADMIN_READ_TOKENS: tokens that see the dashboard, status and stream, and change nothing. */
  readTokens: string[];
  /** More /api/stream connections than this per token are answered 429. */
  streamMaxClientsPerToken: number;
  /** How often /metrics' values are re-read; a scrape serves the last ones. */
  metricsRefreshMs: number;
  /** True when no ADMIN_TOKEN was set and one was generated (dev mode); the server logs it once. */
  tokenGenerated: boolean;
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  logPretty: boolean;
  /** The relay whose state /api/relay shows. */
  relayName: string;
  /** A projection with work whose checkpoint stands still this long is flagged stalled. */
  stallThresholdMs: number;
  /** How often /api/stream sends a payload. */
  streamIntervalMs: number;
  /** Comment lines on /api/stream this often keep proxies from closing an idle-looking stream. */
  streamHeartbeatMs: number;
  /** Unapplied events are counted exactly up to this many per partition. */
  lagCountLimit: number;
  /** The completeness audit of every table projection runs this long after the previous round ended. */
  auditIntervalMs: number;
  /** The dashboard's history: one sample this often, kept this long (`/api/history`). */
  history: { intervalMs: number; windowMs: number };
  /** Whether this process runs the BullMQ rebuild worker too (the queue is always there). */
  rebuildWorker: boolean;
  rebuildConcurrency: number;
  /** Where the dashboard's static files are. */
  dashboardDir: string;
  dbPoolSize: number;
  readyTimeoutMs: number;
  /** In-flight requests get this long to finish after SIGTERM before the process gives up. */
  shutdownTimeoutMs: number;
}

/**
 * Parses the environment once at start-up; the only reader of process.env.
 * Without ADMIN_TOKEN outside development this is a ConfigError naming it.
 */
export function loadConfig(vars: env.Variables = process.env): Config {
  const c = env.parse(schema, vars);
  return {
    appPath: c.REFRACT_CONFIG,
    port: c.ADMIN_PORT,
    host: c.ADMIN_HOST,
    token: c.ADMIN_TOKEN ?? randomBytes(16).toString('hex'),
    tokenGenerated: c.ADMIN_TOKEN === undefined,
    readTokens: c.ADMIN_READ_TOKENS ?? [],
    streamMaxClientsPerToken: c.ADMIN_STREAM_MAX_CLIENTS_PER_TOKEN,
    metricsRefreshMs: c.ADMIN_METRICS_REFRESH_MS,
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    keyPrefix: c.REDIS_KEY_PREFIX,
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY,
    relayName: c.RELAY_NAME,
    stallThresholdMs: c.ADMIN_STALL_THRESHOLD_MS,
    streamIntervalMs: c.ADMIN_STREAM_INTERVAL_MS,
    streamHeartbeatMs: c.ADMIN_STREAM_HEARTBEAT_MS,
    lagCountLimit: c.ADMIN_LAG_COUNT_LIMIT,
    auditIntervalMs: c.REFRACT_AUDIT_INTERVAL_MS,
    history: { intervalMs: c.ADMIN_HISTORY_INTERVAL_MS, windowMs: c.ADMIN_HISTORY_WINDOW_MS },
    rebuildWorker: c.ADMIN_REBUILD_WORKER,
    rebuildConcurrency: c.ADMIN_REBUILD_CONCURRENCY,
    dashboardDir: c.ADMIN_DASHBOARD_DIR ?? fileURLToPath(new URL('../dashboard/', import.meta.url)),
    dbPoolSize: c.ADMIN_DB_POOL_SIZE,
    readyTimeoutMs: c.ADMIN_READY_TIMEOUT_MS,
    shutdownTimeoutMs: c.ADMIN_SHUTDOWN_TIMEOUT_MS,
  };
}
