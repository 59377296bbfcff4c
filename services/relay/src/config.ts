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
  RELAY_WINDOW_SIZE: positiveInt('a positive number of entries').default(100_000),
  RELAY_BATCH_SIZE: positiveInt('a positive number of events').default(2000),
  RELAY_PORT: z.coerce
    .number({ error: 'must be a port number' })
    .int('must be an integer')
    .min(0, 'must be from 0 to 65535')
    .max(65535, 'must be from 0 to 65535')
    .default(4010),
  RELAY_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

export type RelayServiceConfig = z.infer<typeof schema>;

/** Parses the environment once; every bad variable is listed, no value is echoed. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
): RelayServiceConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''),
  );
  const result = schema.safeParse(present);
  if (!result.success) {
    throw new Error(
      `invalid configuration:\n${result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  return result.data;
}
