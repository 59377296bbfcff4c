import { createRedisClient, PoolMembership, type RedisClient } from '@refract/stream-bus';
import { createTestRedisNamespace, eventually, type TestRedisNamespace } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Invariant 8 (one owner per pool and partition) rests on the lease script in
// @refract/stream-bus; the projector is the package whose ownership it decides.
let ns: TestRedisNamespace;
let redis: RedisClient;

beforeAll(() => {
  ns = createTestRedisNamespace('lease-exclusivity');
  redis = createRedisClient(ns.url, { name: 'lease-exclusivity', failFast: false });
});

afterAll(async () => {
  redis?.disconnect();
  await ns?.cleanup();
});

const member = (memberId: string, ttlMs = 60_000) =>
  new PoolMembership(redis, { keyPrefix: ns.prefix, pool: 'leases', memberId, ttlMs });

describe('lease exclusivity', () => {
  it('two owners racing acquire on one lease: exactly one holds it, and holder names that one', async () => {
    const a = member('owner-a');
    const b = member('owner-b');
    for (let partition = 0; partition < 200; partition++) {
      const [gotA, gotB] = await Promise.all([a.acquire(partition), b.acquire(partition)]);
      expect([gotA, gotB].filter(Boolean), `partition ${partition}`).toHaveLength(1);
      const winner = gotA ? a : b;
      const loser = gotA ? b : a;
      const winnerId = gotA ? 'owner-a' : 'owner-b';
      expect(await a.holder(partition)).toBe(winnerId);
      // A renewal by the holder succeeds; the loser's attempts still fail.
      expect(await winner.acquire(partition)).toBe(true);
      expect(await loser.acquire(partition)).toBe(false);
      expect(await a.holder(partition)).toBe(winnerId);
    }
  });

  it("the loser can neither renew nor release the winner's lease; after the release the loser may take it", async () => {
    const a = member('owner-a');
    const b = member('owner-b');
    expect(await a.acquire(1000)).toBe(true);
    expect(await b.acquire(1000)).toBe(false);
    await b.release(1000);
    expect(await a.holder(1000)).toBe('owner-a');
    await a.release(1000);
    expect(await a.holder(1000)).toBeNull();
    expect(await b.acquire(1000)).toBe(true);
    expect(await a.acquire(1000)).toBe(false);
    expect(await a.holder(1000)).toBe('owner-b');
  });

  it('after the winner stops renewing, its lease expires and the other owner takes it', async () => {
    const a = member('owner-a', 300);
    const b = member('owner-b', 300);
    expect(await a.acquire(2000)).toBe(true);
    expect(await b.acquire(2000)).toBe(false);
    await eventually(async () => expect(await a.holder(2000)).toBeNull(), { timeoutMs: 5_000 });
    expect(await b.acquire(2000)).toBe(true);
    expect(await a.acquire(2000)).toBe(false);
    expect(await a.holder(2000)).toBe('owner-b');
  });
});
