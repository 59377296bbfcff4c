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

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Table scans of refract.events so far, as the sessions have reported them. */
async function eventScans(): Promise<number> {
  const result = await admin.query<{ seq_scan: string }>(
    `SELECT seq_scan FROM pg_stat_user_tables WHERE relid = 'refract.events'::regclass`,
  );
  return Number(result.rows[0]!.seq_scan);
}

describe('the relay on a log that grows under it', () => {
  it('reads by position, never by scanning the log, after starting on an empty one', async () => {
    const relay = new Relay({
      databaseUrl: db.url,
      redis,
      keyPrefix: `${ns.prefix}${randomUUID().slice(0, 6)}:`,
      pollIntervalMs: 20,
      leaderRetryMs: 50,
    });
    relay.start();
    try {
      // Many rounds on the empty log: whatever the session plans, it plans here.
      await eventually(() => expect(relay.status().leader).toBe(true));
      await wait(500);
      let head = 0;
      for (let i = 0; i < 20; i++) {
        const events = Array.from({ length: 1000 }, (_, n) => ({ type: 'E', data: { n } }));
        head = (await store.append(`big-${i}`, events)).lastPosition;
      }
      await eventually(() => expect(relay.status().publishedPosition).toBe(head), {
        timeoutMs: 15_000,
      });
      // Sessions report their counts about once a second.
      await wait(1500);
      const before = await eventScans();
      for (let i = 0; i < 10; i++) {
        head = (await store.append(`small-${i}`, [{ type: 'E', data: { i } }])).lastPosition;
        await wait(100);
      }
      await eventually(() => expect(relay.status().publishedPosition).toBe(head));
      await wait(1500);
      expect(await eventScans()).toBe(before);
    } finally {
      await relay.close();
    }
  });
});
