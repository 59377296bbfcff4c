import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@refract/testing';
import { REPO_ROOT, SERVICE_DIRS, spawnService } from './child.js';
import type { BenchStack } from './stack.js';

const START_TIMEOUT_MS = 60_000;

export function adminServiceExists(): boolean {
  return existsSync(join(REPO_ROOT, SERVICE_DIRS.admin, 'src/main.ts'));
}

export function relayServiceExists(): boolean {
  return existsSync(join(REPO_ROOT, SERVICE_DIRS.relay, 'src/main.ts'));
}

export interface RunningService {
  origin: string;
  stop(): Promise<void>;
}

/**
 * services/write-api as a real process on a free loopback port, ready once
 * `/readyz` answers 200. Without its embedded relay, unless `relayKeyPrefix`
 * is given: then the relay inside it publishes under that prefix.
 */
export async function startWriteApi(
  stack: BenchStack,
  options: { relayKeyPrefix?: string; env?: Record<string, string> } = {},
): Promise<RunningService> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const relay: Record<string, string> =
    options.relayKeyPrefix === undefined
      ? { RELAY_MODE: 'off' }
      : {
          RELAY_MODE: 'embedded',
          REDIS_URL: stack.redisUrl,
          REDIS_KEY_PREFIX: options.relayKeyPrefix,
        };
  const child = spawnService('write-api', SERVICE_DIRS.writeApi, {
    DATABASE_URL: stack.databaseUrl,
    WRITE_API_PORT: String(port),
    WRITE_API_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ...relay,
    ...options.env,
  });
  const stop = stack.defer('stopping write-api', () => child.stop());
  await child.waitUntil(
    async () => (await fetch(`${origin}/readyz`)).status === 200,
    START_TIMEOUT_MS,
  );
  return { origin, stop };
}

/**
 * services/relay as a real process, publishing under `keyPrefix`, ready
 * once `ready()` says so (the caller watches for leadership in Postgres,
 * which does not depend on the service's HTTP port).
 */
export async function startRelayService(
  stack: BenchStack,
  keyPrefix: string,
  ready: () => Promise<boolean>,
): Promise<{ stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawnService('relay', SERVICE_DIRS.relay, {
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    // The service is young: its port variable has had both names.
    RELAY_METRICS_PORT: String(port),
    RELAY_PORT: String(port),
    RELAY_HOST: '127.0.0.1',
    // Info shows leadership and skipped (final) gaps: a few lines, and the ones that explain a failure.
    LOG_LEVEL: 'info',
  });
  const stop = stack.defer('stopping relay', () => child.stop());
  // Polled often: the backlog phase's clock starts when the relay leads.
  await child.waitUntil(ready, START_TIMEOUT_MS, 5);
  return { stop };
}

/**
 * services/admin as a real process (its rebuild worker inside) on a free
 * loopback port, with a token of this run, ready once `/readyz` answers 200.
 */
export async function startAdmin(
  stack: BenchStack,
  keyPrefix: string,
): Promise<RunningService & { token: string }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const token = randomBytes(16).toString('hex');
  const child = spawnService('admin', SERVICE_DIRS.admin, {
    DATABASE_URL: stack.databaseUrl,
    REDIS_URL: stack.redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    ADMIN_PORT: String(port),
    ADMIN_HOST: '127.0.0.1',
    ADMIN_TOKEN: token,
    LOG_LEVEL: 'warn',
  });
  const stop = stack.defer('stopping admin', () => child.stop());
  await child.waitUntil(
    async () => (await fetch(`${origin}/readyz`)).status === 200,
    START_TIMEOUT_MS,
  );
  return { origin, stop, token };
}
