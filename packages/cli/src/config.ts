import { resolve } from 'node:path';
import { env } from '@refract/service-kit';
import { z } from 'zod';

export { ConfigError } from '@refract/service-kit';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:4002';

/** Where `refract dev` (`pnpm start`) keeps its admin token, inside its data directory. */
const DEV_TOKEN_FILE = 'admin-token';

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
  /** The dev stack's data directory, as dev-stack reads it: relative to where the command was typed. */
  REFRACT_DATA_DIR: z.string().optional(),
  INIT_CWD: z.string().optional(),
});

export interface CliConfig {
  /** `--url` overrides it. */
  adminUrl: string;
  /** `--token` overrides it. */
  adminToken: string | undefined;
  databaseUrl: string | undefined;
  partitions: number | undefined;
  /**
   * The token file of the dev stack (`<data dir>/admin-token`, the data dir
   * being `.refract` where the command is typed unless REFRACT_DATA_DIR says
   * otherwise, as `refract dev` and `pnpm start` keep it), used when no token
   * is given and admin is on this machine.
   */
  devTokenFile: string;
}

/** Parses the environment once; the only reader of process.env in the CLI. */
export function loadCliConfig(vars: env.Variables = process.env): CliConfig {
  const c = env.parse(schema, vars);
  return {
    adminUrl: c.REFRACT_ADMIN_URL,
    adminToken: c.REFRACT_ADMIN_TOKEN,
    databaseUrl: c.DATABASE_URL,
    partitions: c.REFRACT_PARTITIONS,
    devTokenFile: resolve(
      c.INIT_CWD ?? process.cwd(),
      c.REFRACT_DATA_DIR ?? '.refract',
      DEV_TOKEN_FILE,
    ),
  };
}
