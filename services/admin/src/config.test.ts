import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const base = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
  REDIS_URL: 'redis://127.0.0.1:6379',
};

function problems(vars: Record<string, string>): string[] {
  try {
    loadConfig(vars);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('refuses to start without ADMIN_TOKEN outside development, naming the variable', () => {
    const found = problems(base);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^ADMIN_TOKEN: is required/);
    expect(problems({ ...base, ADMIN_TOKEN: '' })[0]).toMatch(/^ADMIN_TOKEN/);
  });

  it('refuses a short token without echoing it', () => {
    const found = problems({ ...base, ADMIN_TOKEN: 'hunter2' });
    expect(found[0]).toMatch(/^ADMIN_TOKEN: must be at least 16/);
    expect(found.join('\n')).not.toContain('hunter2');
  });

  it('generates a token in dev mode, and says so', () => {
    for (const dev of [{ ADMIN_DEV_MODE: 'true' }, { NODE_ENV: 'development' }]) {
      const config = loadConfig({ ...base, ...dev });
      expect(config.tokenGenerated).toBe(true);
      expect(config.token).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(loadConfig({ ...base, ADMIN_DEV_MODE: 'true' }).token).not.toBe(
      loadConfig({ ...base, ADMIN_DEV_MODE: 'true' }).token,
    );
  });

  it('has the documented defaults', () => {
    const config = loadConfig({ ...base, ADMIN_TOKEN: 'a-token-of-sixteen-chars' });
    expect(config).toMatchObject({
      port: 4002,
      tokenGenerated: false,
      keyPrefix: 'refract:',
      host: '127.0.0.1',
      readTokens: [],
      streamMaxClientsPerToken: 10,
      metricsRefreshMs: 5000,
      relayName: 'main',
      stallThresholdMs: 30_000,
      streamIntervalMs: 1000,
      rebuildWorker: true,
      rebuildConcurrency: 1,
    });
    expect(config.dashboardDir).toMatch(/services\/admin\/dashboard\/?$/);
    expect(config.appPath).toBeUndefined();
  });

  it('reads read-only tokens, each long enough, none the operator token', () => {
    const operator = 'a-token-of-sixteen-chars';
    const read = ['read-token-one-0123', 'read-token-two-0123'];
    expect(
      loadConfig({ ...base, ADMIN_TOKEN: operator, ADMIN_READ_TOKENS: read.join(', ') }).readTokens,
    ).toEqual(read);
    const short = problems({ ...base, ADMIN_TOKEN: operator, ADMIN_READ_TOKENS: 'tiny-secret' });
    expect(short[0]).toMatch(/^ADMIN_READ_TOKENS.*must each be at least 16 characters/);
    expect(short.join('\n')).not.toContain('tiny-secret');
    expect(
      problems({ ...base, ADMIN_TOKEN: operator, ADMIN_READ_TOKENS: `${read[0]} ${operator}` })[0],
    ).toMatch(/^ADMIN_READ_TOKENS: must not hold ADMIN_TOKEN/);
  });

  it('reads the application module from REFRACT_CONFIG', () => {
    const config = loadConfig({
      ...base,
      ADMIN_TOKEN: 'a-token-of-sixteen-chars',
      REFRACT_CONFIG: 'apps/shop/refract.config.ts',
    });
    expect(config.appPath).toBe('apps/shop/refract.config.ts');
  });

  it('reports every bad variable at once', () => {
    const found = problems({ ADMIN_PORT: 'x', ADMIN_TOKEN: 'a-token-of-sixteen-chars' });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual([
      'ADMIN_PORT',
      'DATABASE_URL',
      'REDIS_URL',
    ]);
  });
});
