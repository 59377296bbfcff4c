import { randomUUID } from 'node:crypto';
import { EventStore, migrate } from '@refract/event-store';
import { createRedisClient, type RedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Relay } from './relay.js';

// The leader keeps one Postgres session for as long as it leads. A session
// that starts on an empty, freshly vacuumed log (a new install) must not keep
// a plan that reads the log by scanning it whole: every round would then
// cost a scan of the table, growing with every event stored.

let db: TestDatabase;
let ns: TestRedisNamespace;
let redis: RedisClient;
let store: EventStore;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('relay_plans');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  ns = createTestRedisNamespace('relay_plans');
  redis = createRedisClient(ns.url, { name: 'relay-plans-test' });
  store = await EventStore.open({ databaseUrl: db.url });
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query('VACUUM ANALYZE refract.events');
});

afterAll(async () => {
  await admin?.end();
  await store?.close();
  redis?.disconnect();
  await ns?.cleanup();
  await db?.drop();
});

/** Table and index scans of refract.events so far, as the sessions have reported them. */
async function eventScans(): Promise<{ seq: number; idx: number }> {
  const result = await admin.query<{ seq_scan: string; idx_scan: string }>(
    `SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relid = 'refract.events'::regclass`,
  );
  return { seq: Number(result.rows[0]!.seq_scan), idx: Number(result.rows[0]!.idx_scan ?? 0) };
}

/**
 * Resolves once a session has reported its counts since this call. Sessions
 * report about once a second, all their counts at once; the relay reads the
 * log by index every round (20 ms here), so a report after this call shows as
 * more index scans, and it carries every scan the relay did before it.
 */
async function scansReported(): Promise<void> {
  const { idx } = await eventScans();
  await eventually(async () => expect((await eventScans()).idx).toBeGreaterThan(idx), {
    timeoutMs: 15_000,
  });
}

describe('the relay on a log that grows under it', () => {
  it('reads by position, never by scanning the log, after starting on an empty one', async () => {
    let rounds = 0;
    const relay = new Relay({
      databaseUrl: db.url,
      redis,
      keyPrefix: `${ns.prefix}${randomUUID().slice(0, 6)}:`,
      pollIntervalMs: 20,
      leaderRetryMs: 50,
      hooks: {
        afterRound: () => {
          rounds += 1;
        },
      },
    });
    relay.start();
    try {
      // Many rounds on the empty log: whatever the session plans, it plans
      // here (a prepared statement may switch to a generic plan after five).
      await eventually(() => expect(rounds).toBeGreaterThanOrEqual(20));
      let head = 0;
      for (let i = 0; i < 20; i++) {
        const events = Array.from({ length: 1000 }, (_, n) => ({ type: 'E', data: { n } }));
        head = (await store.append(`big-${i}`, events)).lastPosition;
      }
      await eventually(() => expect(relay.status().publishedPosition).toBe(head), {
        timeoutMs: 15_000,
      });
      await scansReported();
      const before = (await eventScans()).seq;
      // One round each: ten reads on the grown log.
      for (let i = 0; i < 10; i++) {
        head = (await store.append(`small-${i}`, [{ type: 'E', data: { i } }])).lastPosition;
        await eventually(() => expect(relay.status().publishedPosition).toBe(head));
      }
      await scansReported();
      expect((await eventScans()).seq).toBe(before);
    } finally {
      await relay.close();
    }
  });
});
