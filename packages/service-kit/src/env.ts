/**
 * Building blocks of the services' environment schemas, exported as the
 * `env` namespace: `env.port()`, `env.databaseUrl`, `env.parse(schema, vars)`.
 */
import { parseRedisUrl } from '@refract/core';
import { z } from 'zod';

/** Environment variables as `process.env` gives them. */
export type Variables = Record<string, string | undefined>;

/** A TCP port. `port(1)` where 0 (any free port) makes no sense. */
export function port(min: 0 | 1 = 0) {
  return z.coerce
    .number({ error: 'must be a port number' })
    .int('must be an integer')
    .min(min, `must be from ${min} to 65535`)
    .max(65535, `must be from ${min} to 65535`);
}

/** A positive integer; `what` completes "must be …": `a positive number of milliseconds`. */
export function positiveInt(what: string) {
  return z.coerce
    .number({ error: `must be ${what}` })
    .int(`must be ${what}`)
    .positive(`must be ${what}`);
}

/** REFRACT_PARTITIONS: the partition count of a new install (fixed by its first migrate). */
export const partitions = z.coerce
  .number({ error: 'must be an integer from 1 to 4096' })
  .int('must be an integer from 1 to 4096')
  .min(1, 'must be an integer from 1 to 4096')
  .max(4096, 'must be an integer from 1 to 4096');

/** `true`/`1` or `false`/`0`. */
export const boolean = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

/** LOG_LEVEL: one of the logger's levels, `info` when unset. */
export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    error: 'must be one of fatal, error, warn, info, debug, trace, silent',
  })
  .default('info');

/** DATABASE_URL, required; add `.optional()` where it may be unset. */
export const databaseUrl = z
  .string({ error: 'is required: a postgres:// connection string' })
  .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// connection string');

/**
 * REDIS_URL, required; add `.optional()` where it may be unset. One server
 * (`redis://`, `rediss://`) or a Redis Cluster's seed nodes
 * (`redis+cluster://host:port,host:port`), the grammar of stream-bus's
 * `parseRedisUrl`, so what passes here is what the client factory takes.
 */
export const redisUrl = z
  .string({ error: 'is required: a redis:// URL, or redis+cluster://host:port,… for a cluster' })
  .superRefine((value, ctx) => {
    try {
      parseRedisUrl(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

/**
 * REDIS_KEY_PREFIX: prepended to every Redis key, `refract:` when unset. No
 * braces: Redis Cluster hashes a key by its first `{…}`, which must be the
 * partition's tag, or every partition would land in the prefix's one slot.
 */
export const redisKeyPrefix = z
  .string()
  .max(100, 'must be at most 100 characters')
  .regex(/^[^{}]*$/, 'must not contain { or }: the partition hash tag must be the first in a key')
  .default('refract:');

/** Every problem of a configuration, one line each: the variable and what is wrong, never its value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The variables that are set: an empty one (`FOO=` in a .env file) means "not set", not "0" or "". */
export function present(vars: Variables): Record<string, string> {
  return Object.fromEntries(
    Object.entries(vars).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1].trim() !== '',
    ),
  );
}

/**
 * Parses the set variables with `schema`. Every bad variable is reported at
 * once, in a ConfigError; values are never echoed, since one of them may be a
 * connection string holding a password.
 */
export function parse<T extends z.ZodType>(schema: T, vars: Variables): z.output<T> {
  const result = schema.safeParse(present(vars));
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return result.data;
}

/** What a token of write-api and query-api may do: `read` (GET reads), `write` (appends, commands). */
export type Scope = 'read' | 'write';

/** A bearer token and what it may do; `name` appears in logs, never the token. */
export interface ApiToken {
  name: string;
  scopes: readonly Scope[];
  token: string;
}

/** Shorter tokens are guessable over a network. */
export const MIN_TOKEN_LENGTH = 16;

/** A bearer token variable (`WRITE_API_TOKEN`): at least 16 characters, no whitespace. */
export const token = z
  .string()
  .min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`)
  .regex(/^\S+$/, 'must not contain whitespace');

const SCOPES: readonly Scope[] = ['read', 'write'];

/**
 * `REFRACT_API_TOKENS`: `name:scopes:token` entries separated by commas or
 * whitespace; scopes are `read`, `write` or `read+write`. A problem names
 * the entry by its position and name, never its token.
 */
export const apiTokens = z.string().transform((text, ctx): ApiToken[] => {
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== '');
  const parsed: ApiToken[] = [];
  entries.forEach((entry, i) => {
    const [name = '', scopeList = '', ...rest] = entry.split(':');
    const value = rest.join(':');
    const where = `entry ${i + 1}${name ? ` (${name})` : ''}`;
    const scopes = scopeList.split('+');
    if (!name || !value) {
      ctx.addIssue({ code: 'custom', message: `${where} must be name:scopes:token` });
    } else if (!scopes.every((s): s is Scope => SCOPES.includes(s as Scope))) {
      ctx.addIssue({
        code: 'custom',
        message: `${where} has scopes other than read, write, read+write`,
      });
    } else if (!token.safeParse(value).success) {
      ctx.addIssue({
        code: 'custom',
        message: `${where} has a token shorter than ${MIN_TOKEN_LENGTH} characters`,
      });
    } else {
      parsed.push({ name, scopes, token: value });
    }
  });
  if (new Set(parsed.map((t) => t.name)).size !== parsed.length) {
    ctx.addIssue({ code: 'custom', message: 'names a token twice' });
  }
  return parsed;
});
