import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const DATABASE_URL = 'postgres://app:secret@db:5432/refract';

describe('loadConfig', () => {
  it('applies the defaults', () => {
    expect(loadConfig({ DATABASE_URL })).toEqual({
      port: 4001,
      host: '127.0.0.1',
      tokens: [],
      databaseUrl: DATABASE_URL,
      logLevel: 'info',
      logPretty: false,
      dbPoolSize: 10,
      readyTimeoutMs: 1000,
      shutdownTimeoutMs: 10_000,
      recheckMs: 1000,
      maxTimeoutMs: 10_000,
      bodyLimitBytes: 1_048_576,
      appPath: undefined,
    });
  });

  it('refuses a non-loopback host without a token, unless --insecure-no-auth', () => {
    const open = { DATABASE_URL, QUERY_API_HOST: '0.0.0.0' };
    expect(() => loadConfig(open)).toThrow(
      /QUERY_API_TOKEN: is required when QUERY_API_HOST is not a loopback address/,
    );
    expect(loadConfig(open, { insecureNoAuth: true }).tokens).toEqual([]);
    const token = 'q'.repeat(32);
    expect(loadConfig({ ...open, QUERY_API_TOKEN: token }).tokens).toEqual([
      { name: 'QUERY_API_TOKEN', scopes: ['read'], token },
    ]);
  });

  it('reads every variable', () => {
    expect(
      loadConfig({
        DATABASE_URL,
        QUERY_API_PORT: '0',
        QUERY_API_HOST: '127.0.0.1',
        LOG_LEVEL: 'debug',
        LOG_PRETTY: 'true',
        QUERY_API_DB_POOL_SIZE: '3',
        QUERY_API_READY_TIMEOUT_MS: '200',
        QUERY_API_SHUTDOWN_TIMEOUT_MS: '500',
        QUERY_API_RECHECK_MS: '250',
        QUERY_API_MAX_TIMEOUT_MS: '30000',
        QUERY_API_BODY_LIMIT_BYTES: '4096',
        REFRACT_CONFIG: 'apps/shop/refract.config.ts',
      }),
    ).toEqual({
      port: 0,
      host: '127.0.0.1',
      tokens: [],
      databaseUrl: DATABASE_URL,
      logLevel: 'debug',
      logPretty: true,
      dbPoolSize: 3,
      readyTimeoutMs: 200,
      shutdownTimeoutMs: 500,
      recheckMs: 250,
      maxTimeoutMs: 30_000,
      bodyLimitBytes: 4096,
      appPath: 'apps/shop/refract.config.ts',
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL, QUERY_API_PORT: '', LOG_LEVEL: ' ' }).port).toBe(4001);
  });

  it('reports every problem at once, without echoing values', () => {
    let error: unknown;
    try {
      loadConfig({
        QUERY_API_PORT: '70000',
        QUERY_API_DB_POOL_SIZE: '0',
        LOG_LEVEL: 'loud',
        QUERY_API_RECHECK_MS: 'often',
        QUERY_API_MAX_TIMEOUT_MS: '0',
        QUERY_API_BODY_LIMIT_BYTES: 'big',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of [
      'DATABASE_URL',
      'QUERY_API_PORT',
      'QUERY_API_DB_POOL_SIZE',
      'LOG_LEVEL',
      'QUERY_API_RECHECK_MS',
      'QUERY_API_MAX_TIMEOUT_MS',
      'QUERY_API_BODY_LIMIT_BYTES',
    ]) {
      expect(problems).toContain(name);
    }
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:hunter2@db/x' })).toThrow(
      /DATABASE_URL: must be a postgres/,
    );
    try {
      loadConfig({ DATABASE_URL: 'mysql://u:hunter2@db/x' });
    } catch (caught) {
      expect((caught as Error).message).not.toContain('hunter2');
    }
  });
});
