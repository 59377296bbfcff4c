import { env } from '@refract/service-kit';
import { z } from 'zod';

export { ConfigError } from '@refract/service-kit';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:4002';

/** An http(s) URL: `--url` and REFRACT_ADMIN_URL. */
export const adminUrl = z
  .string()
  .regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL, e.g. http://127.0.0.1:4002');

/** The CLI's variables; each is documented in .env.example and the README. */
const schema = z.object({
  REFRACT_ADMIN_URL: adminUrl.default(DEFAULT_ADMIN_URL),
  REFRACT_ADMIN_TOKEN: z.string().optional(),
  /** Only `refract migrate` uses it: migrations cannot go through admin. */
  DATABASE_URL: env.databaseUrl.optional(),
  REFRACT_PARTITIONS: env.partitions.optional(),
});

export interface CliConfig {
  /** `--url` overrides it. */
  adminUrl: string;
  /** `--token` overrides it. */
  adminToken: string | undefined;
  databaseUrl: string | undefined;
  partitions: number | undefined;
}

/** Parses the environment once; the only reader of process.env in the CLI. */
export function loadCliConfig(vars: env.Variables = process.env): CliConfig {
  const c = env.parse(schema, vars);
  return {
    adminUrl: c.REFRACT_ADMIN_URL,
    adminToken: c.REFRACT_ADMIN_TOKEN,
    databaseUrl: c.DATABASE_URL,
    partitions: c.REFRACT_PARTITIONS,
  };
}
