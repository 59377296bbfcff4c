import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const DATABASE_URL = 'postgres://app:secret@db:5432/refract';
const REDIS_URL = 'redis://cache:6379';

describe('loadConfig', () => {
  it('applies the defaults', () => {
    expect(loadConfig({ DATABASE_URL, REDIS_URL })).toEqual({
      appPath: undefined,
      port: 4000,
      host: '127.0.0.1',
      tokens: [],
      databaseUrl: DATABASE_URL,
      logLevel: 'info',
      logPretty: false,
      bodyLimitBytes: 1_048_576,
      dbPoolSize: 10,
      commitConcurrency: 2,
      readyTimeoutMs: 1000,
      shutdownTimeoutMs: 10_000,
      commandIdempotencyTtlSeconds: 86_400,
      relay: {
        mode: 'embedded',
        redisUrl: REDIS_URL,
        keyPrefix: 'refract:',
        windowSize: 100_000,
        batchSize: 2000,
      },
    });
  });

  it('refuses a non-loopback host without a token, unless --insecure-no-auth', () => {
    const open = { DATABASE_URL, REDIS_URL, WRITE_API_HOST: '0.0.0.0' };
    expect(() => loadConfig(open)).toThrow(
      /WRITE_API_TOKEN: is required when WRITE_API_HOST is not a loopback address/,
    );
    expect(loadConfig(open, { insecureNoAuth: true }).tokens).toEqual([]);
    expect(loadConfig({ ...open, REFRACT_INSECURE_NO_AUTH: '1' }).tokens).toEqual([]);
    expect(loadConfig({ ...open, WRITE_API_HOST: '::1' }).tokens).toEqual([]);
    const token = 'w'.repeat(32);
    expect(loadConfig({ ...open, WRITE_API_TOKEN: token }).tokens).toEqual([
      { name: 'WRITE_API_TOKEN', scopes: ['read', 'write'], token },
    ]);
    expect(
      loadConfig({
        ...open,
        REFRACT_API_TOKENS: `dash:read:${'r'.repeat(20)},ci:read+write:${token}`,
      }).tokens,
    ).toEqual([
      { name: 'dash', scopes: ['read'], token: 'r'.repeat(20) },
      { name: 'ci', scopes: ['read', 'write'], token },
    ]);
  });

  it('refuses short tokens and bad token lists without echoing them', () => {
    const base = { DATABASE_URL, REDIS_URL };
    expect(() => loadConfig({ ...base, WRITE_API_TOKEN: 'short' })).toThrow(
      /WRITE_API_TOKEN: must be at least 16 characters/,
    );
    const bad = () =>
      loadConfig({ ...base, REFRACT_API_TOKENS: 'a:admin:secret-secret-secret,b:read:tiny' });
    expect(bad).toThrow(/entry 1 \(a\) has scopes other than read, write, read\+write/);
    expect(bad).toThrow(/entry 2 \(b\) has a token shorter than 16 characters/);
    expect(bad).not.toThrow(/secret|tiny/);
  });

  it('needs REDIS_URL for the embedded relay, and not without it', () => {
    expect(() => loadConfig({ DATABASE_URL })).toThrow(
      /REDIS_URL: is required while RELAY_MODE=embedded/,
    );
    expect(loadConfig({ DATABASE_URL, RELAY_MODE: 'off' }).relay).toEqual({ mode: 'off' });
    expect(() => loadConfig({ DATABASE_URL, REDIS_URL: 'http://x' })).toThrow(
      /REDIS_URL: must be a redis/,
    );
  });

  it('reads every variable', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://localhost/x',
      WRITE_API_PORT: '0',
      WRITE_API_HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      LOG_PRETTY: 'true',
      WRITE_API_BODY_LIMIT_BYTES: '2048',
      WRITE_API_DB_POOL_SIZE: '4',
      WRITE_API_READY_TIMEOUT_MS: '250',
      WRITE_API_SHUTDOWN_TIMEOUT_MS: '5000',
      COMMAND_IDEMPOTENCY_TTL_SECONDS: '60',
      RELAY_MODE: 'off',
      REFRACT_CONFIG: 'apps/shop/refract.config.ts',
      UNRELATED: 'ignored',
    });
    expect(config).toMatchObject({
      appPath: 'apps/shop/refract.config.ts',
      port: 0,
      host: '127.0.0.1',
      logLevel: 'debug',
      logPretty: true,
      bodyLimitBytes: 2048,
      dbPoolSize: 4,
      commitConcurrency: 2,
      readyTimeoutMs: 250,
      shutdownTimeoutMs: 5000,
      commandIdempotencyTtlSeconds: 60,
    });
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL, REDIS_URL, WRITE_API_PORT: '', LOG_LEVEL: ' ' }).port).toBe(
      4000,
    );
  });

  it('lists every bad variable at once without echoing values', () => {
    const error = (() => {
      try {
        loadConfig({
          WRITE_API_PORT: '70000',
          WRITE_API_BODY_LIMIT_BYTES: '1.5',
          WRITE_API_READY_TIMEOUT_MS: 'soon',
          LOG_LEVEL: 'loud',
          LOG_PRETTY: 'yes',
          COMMAND_IDEMPOTENCY_TTL_SECONDS: '0',
        });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'COMMAND_IDEMPOTENCY_TTL_SECONDS',
      'DATABASE_URL',
      'LOG_LEVEL',
      'LOG_PRETTY',
      'WRITE_API_BODY_LIMIT_BYTES',
      'WRITE_API_PORT',
      'WRITE_API_READY_TIMEOUT_MS',
    ]);
    expect((error as Error).message).toContain('DATABASE_URL: is required');
    expect((error as Error).message).not.toContain('loud');
  });

  it('refuses a DATABASE_URL that is not a postgres URL, without printing it', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:pw@h/d' })).toThrow(
      /DATABASE_URL: must be a postgres:\/\/ connection string/,
    );
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:pw@h/d' })).not.toThrow(/pw/);
  });
});
