import { env } from '@refract/service-kit';
import { z } from 'zod';

const schema = z.object({
  DATABASE_URL: env.databaseUrl,
  REDIS_URL: env.redisUrl,
  REDIS_KEY_PREFIX: env.redisKeyPrefix,
  RELAY_WINDOW_SIZE: env.positiveInt('a positive number of entries').default(100_000),
  RELAY_BATCH_SIZE: env.positiveInt('a positive number of events').default(2000),
  RELAY_PORT: env.port().default(4010),
  RELAY_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: env.logLevel,
});

export type RelayServiceConfig = z.infer<typeof schema>;

/**
 * Parses the environment once; empty variables are unset, every bad variable
 * is listed in a ConfigError, no value is echoed.
 */
export function loadConfig(vars: env.Variables = process.env): RelayServiceConfig {
  return env.parse(schema, vars);
}
