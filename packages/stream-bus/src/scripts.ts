import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-client.js';

const load = (name: string) => readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');

const SCRIPTS = {
  refractHeartbeat: { file: 'heartbeat-1', keys: 1 },
  refractLeaseAcquire: { file: 'lease-acquire-1', keys: 1 },
  refractLeaseRelease: { file: 'lease-release-1', keys: 1 },
  refractCounterApply: { file: 'counter-apply-1', keys: 1 },
  refractCounterFreeze: { file: 'counter-freeze-1', keys: 1 },
} as const;

const sources = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, { file }]) => [name, load(file)]),
) as Record<keyof typeof SCRIPTS, string>;

/** The Redis commands our Lua scripts become once defined on a connection. */
export interface ScriptCommands {
  refractHeartbeat(key: string, member: string, ttlMs: number): Promise<string[]>;
  refractLeaseAcquire(key: string, member: string, ttlMs: number): Promise<number>;
  refractLeaseRelease(key: string, member: string): Promise<number>;
  refractCounterApply(
    key: string,
    from: number,
    to: number,
    ...pairs: (string | number)[]
  ): Promise<number>;
  refractCounterFreeze(key: string): Promise<number>;
}

const defined = new WeakSet<RedisClient>();

/** Defines the scripts on a connection once (ioredis sends EVALSHA, falling back to EVAL). */
export function withScripts(redis: RedisClient): RedisClient & ScriptCommands {
  if (!defined.has(redis)) {
    for (const [name, { keys }] of Object.entries(SCRIPTS)) {
      redis.defineCommand(name, { numberOfKeys: keys, lua: sources[name as keyof typeof SCRIPTS] });
    }
    defined.add(redis);
  }
  return redis as RedisClient & ScriptCommands;
}
