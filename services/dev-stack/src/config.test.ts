import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_POSTGRES_PORT, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has defaults for everything: embedded Postgres, local Redis, demo traffic on', () => {
    const config = loadConfig({ PATH: '/usr/bin', INIT_CWD: '/home/me/shop' }, { isTty: true });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.writeApiPort).toBe(4000);
    expect(config.logPretty).toBe(true);
    // Kept where the command was typed: no repository checkout is assumed.
    expect(config.workDir).toBe('/home/me/shop');
    expect(config.dataDir).toBe(join('/home/me/shop', '.refract'));
    expect(config.postgresPort).toEqual({ port: DEFAULT_POSTGRES_PORT, strict: false });
    expect(config.demo.ratePerSecond).toBe(20);
    expect(config.childEnv).toEqual({ PATH: '/usr/bin', INIT_CWD: '/home/me/shop' });
  });

  it('treats empty variables as unset', () => {
    const config = loadConfig({ DATABASE_URL: '', DEMO_RATE_PER_SECOND: ' ' }, { isTty: false });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.demo.ratePerSecond).toBe(20);
    expect(config.logPretty).toBe(false);
  });

  it('reads explicit settings; a chosen port is strict', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/x',
      REDIS_URL: 'redis://cache:6379',
      DEV_STACK_POSTGRES_PORT: '6000',
      DEMO_RATE_PER_SECOND: '0',
      LOG_PRETTY: 'false',
    });
    expect(config.databaseUrl).toBe('postgres://u:p@db:5432/x');
    expect(config.redisUrl).toBe('redis://cache:6379');
    expect(config.postgresPort).toEqual({ port: 6000, strict: true });
    expect(config.demo.ratePerSecond).toBe(0);
    expect(config.logPretty).toBe(false);
  });

  it('runs --config, else REFRACT_CONFIG, else the default file; relative to where pnpm was started', () => {
    // Unset: refract.config.ts in the working directory, found as the services find it.
    expect(loadConfig({}).appPath).toBeUndefined();
    const vars = { REFRACT_CONFIG: 'shop/refract.config.ts', INIT_CWD: '/home/me/work' };
    expect(loadConfig(vars).appPath).toBe('/home/me/work/shop/refract.config.ts');
    expect(loadConfig(vars, { configArgument: '/srv/bank.config.ts' }).appPath).toBe(
      '/srv/bank.config.ts',
    );
  });

  it('resolves a relative data directory against the directory pnpm was started in', () => {
    const config = loadConfig({ REFRACT_DATA_DIR: 'tmp/data', INIT_CWD: '/home/me/refract' });
    expect(config.dataDir).toBe('/home/me/refract/tmp/data');
  });

  it('reports every bad variable at once, without echoing values', () => {
    try {
      loadConfig({
        DATABASE_URL: 'mysql://secret@x',
        WRITE_API_PORT: '0',
        DEMO_RATE_PER_SECOND: '-1',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const { problems, message } = error as ConfigError;
      expect(problems).toHaveLength(3);
      expect(message).toContain('DATABASE_URL');
      expect(message).toContain('WRITE_API_PORT');
      expect(message).not.toContain('secret');
    }
  });
});
