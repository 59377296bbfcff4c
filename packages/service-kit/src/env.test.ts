import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  boolean,
  ConfigError,
  databaseUrl,
  logLevel,
  parse,
  port,
  positiveInt,
  present,
  redisKeyPrefix,
  redisUrl,
} from './env.js';

/** The problems a value gets from `schema`, or [] when it passes. */
function problems(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

describe('building blocks', () => {
  it('port: 0 to 65535 by default, 1 to 65535 with port(1)', () => {
    expect(port().parse('0')).toBe(0);
    expect(port().parse('65535')).toBe(65535);
    expect(problems(port(), '70000')).toEqual(['must be from 0 to 65535']);
    expect(problems(port(), '80.5')).toEqual(['must be an integer']);
    expect(problems(port(), 'eighty')).toEqual(['must be a port number']);
    expect(problems(port(1), '0')).toEqual(['must be from 1 to 65535']);
    expect(port(1).parse('1')).toBe(1);
  });

  it('positiveInt: says what it wants in every message', () => {
    const ms = positiveInt('a positive number of milliseconds');
    expect(ms.parse('250')).toBe(250);
    for (const bad of ['0', '-1', '1.5', 'soon']) {
      expect(problems(ms, bad)).toEqual(['must be a positive number of milliseconds']);
    }
  });

  it('boolean: true/1 and false/0, nothing else', () => {
    expect(['true', '1', 'false', '0'].map((v) => boolean.parse(v))).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(problems(boolean, 'yes')).toEqual(['must be true or false']);
  });

  it('logLevel: the logger levels, info when unset', () => {
    expect(logLevel.parse(undefined)).toBe('info');
    expect(logLevel.parse('trace')).toBe('trace');
    expect(problems(logLevel, 'loud')).toEqual([
      'must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('databaseUrl and redisUrl: required with a hint, optional on request', () => {
    expect(databaseUrl.parse('postgres://u:p@db:5432/x')).toBe('postgres://u:p@db:5432/x');
    expect(databaseUrl.parse('postgresql://localhost/x')).toBe('postgresql://localhost/x');
    expect(problems(databaseUrl, undefined)).toEqual([
      'is required: a postgres:// connection string',
    ]);
    expect(problems(databaseUrl, 'mysql://u:p@h/d')).toEqual([
      'must be a postgres:// connection string',
    ]);
    expect(databaseUrl.optional().parse(undefined)).toBeUndefined();

    expect(redisUrl.parse('rediss://cache:6380')).toBe('rediss://cache:6380');
    expect(redisUrl.parse('redis+cluster://a:7000,10.0.0.2:7001')).toBe(
      'redis+cluster://a:7000,10.0.0.2:7001',
    );
    expect(problems(redisUrl, undefined)).toEqual([
      'is required: a redis:// URL, or redis+cluster://host:port,… for a cluster',
    ]);
    const form =
      'must be a redis:// or rediss:// URL, or redis+cluster://host:port,host:port for a Redis Cluster';
    expect(problems(redisUrl, 'http://x')).toEqual([form]);
    expect(problems(redisUrl.optional(), 'http://x')).toEqual([form]);
    expect(problems(redisUrl, 'redis+cluster://a:7000/2')).toEqual([form]);
    expect(problems(redisUrl, 'redis+cluster://a,b:7001')).toEqual([
      'must list cluster nodes as host:port, separated by commas',
    ]);
    expect(redisUrl.optional().parse(undefined)).toBeUndefined();
  });

  it('redisKeyPrefix: refract: when unset, at most 100 characters, no braces', () => {
    expect(redisKeyPrefix.parse(undefined)).toBe('refract:');
    expect(redisKeyPrefix.parse('mine:')).toBe('mine:');
    expect(problems(redisKeyPrefix, 'x'.repeat(101))).toEqual(['must be at most 100 characters']);
    expect(problems(redisKeyPrefix, 'app{1}:')).toEqual([
      'must not contain { or }: the partition hash tag must be the first in a key',
    ]);
  });
});

describe('present', () => {
  it('drops unset, empty and blank variables', () => {
    expect(present({ A: 'a', B: '', C: '  ', D: undefined, E: ' e ' })).toEqual({
      A: 'a',
      E: ' e ',
    });
  });
});

describe('parse', () => {
  const schema = z.object({
    DATABASE_URL: databaseUrl,
    SOME_PORT: port().default(4000),
    SOME_TIMEOUT_MS: positiveInt('a positive number of milliseconds').default(1000),
    LOG_LEVEL: logLevel,
  });

  it('applies defaults for empty variables, which count as unset', () => {
    expect(
      parse(schema, { DATABASE_URL: 'postgres://db/x', SOME_PORT: '', LOG_LEVEL: ' ' }),
    ).toEqual({
      DATABASE_URL: 'postgres://db/x',
      SOME_PORT: 4000,
      SOME_TIMEOUT_MS: 1000,
      LOG_LEVEL: 'info',
    });
  });

  it('lists every bad variable at once, in a ConfigError, without echoing values', () => {
    let error: unknown;
    try {
      parse(schema, {
        DATABASE_URL: 'mysql://u:hunter2@db/x',
        SOME_PORT: '70000',
        SOME_TIMEOUT_MS: 'soon',
        LOG_LEVEL: 'loud',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message, name } = error as ConfigError;
    expect(name).toBe('ConfigError');
    expect(problems).toEqual([
      'DATABASE_URL: must be a postgres:// connection string',
      'SOME_PORT: must be from 0 to 65535',
      'SOME_TIMEOUT_MS: must be a positive number of milliseconds',
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
    expect(message).toBe(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('loud');
  });

  it('reports a missing required variable', () => {
    expect(() => parse(schema, {})).toThrow(
      'invalid configuration:\n  DATABASE_URL: is required: a postgres:// connection string',
    );
  });
});
