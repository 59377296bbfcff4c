import { env } from '@refract/service-kit';
import { z } from 'zod';

/** Every setting of the relay service; each variable is documented in the README. */
const schema = z.object({
  DATABASE_URL: env.databaseUrl,
  REDIS_URL: env.redisUrl,
  REDIS_KEY_PREFIX: env.redisKeyPrefix,
  RELAY_WINDOW_SIZE: env.positiveInt('a positive number of entries').default(100_000),
  RELAY_BATCH_SIZE: env.positiveInt('a positive number of events').default(2000),
  RELAY_PORT: env.port().default(4010),
  RELAY_HOST: z.string().default('127.0.0.1'),
  RELAY_SHUTDOWN_TIMEOUT_MS: env.positiveInt('a positive number of milliseconds').default(15_000),
  LOG_LEVEL: env.logLevel,
  LOG_PRETTY: env.boolean.default(false),
});

export interface RelayServiceConfig {
  databaseUrl: string;
  redisUrl: string;
  keyPrefix: string;
  windowSize: number;
  batchSize: number;
  port: number;
  host: string;
  /** After SIGTERM the relay gets this long to end its round and give up leadership. */
  shutdownTimeoutMs: number;
  logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  logPretty: boolean;
}

/**
 * Parses the environment once; empty variables are unset, every bad variable
 * is listed in a ConfigError, no value is echoed.
 */
export function loadConfig(vars: env.Variables = process.env): RelayServiceConfig {
  const c = env.parse(schema, vars);
  return {
    databaseUrl: c.DATABASE_URL,
    redisUrl: c.REDIS_URL,
    keyPrefix: c.REDIS_KEY_PREFIX,
    windowSize: c.RELAY_WINDOW_SIZE,
    batchSize: c.RELAY_BATCH_SIZE,
    port: c.RELAY_PORT,
    host: c.RELAY_HOST,
    shutdownTimeoutMs: c.RELAY_SHUTDOWN_TIMEOUT_MS,
    logLevel: c.LOG_LEVEL,
    logPretty: c.LOG_PRETTY,
  };
}
