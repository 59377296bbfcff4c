import { EventStore, migrate } from '@refract/event-store';
import { createRedisClient, type RedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Relay } from './relay.js';

let db: TestDatabase;
let ns: TestRedisNamespace;
let redis: RedisClient;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase('relay_forward');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  ns = createTestRedisNamespace('relay-forward');
  redis = createRedisClient(ns.url, { name: 'relay-forward-test' });
  store = await EventStore.open({ databaseUrl: db.url });
});

afterAll(async () => {
  await store?.close();
  redis?.disconnect();
  await ns?.cleanup();
  await db?.drop();
});

const SUCCESSOR_POSITION = 1_000;
/** The successor's write is stamped with this time, so a later write of any relay shows. */
const SUCCESSOR_STAMP = '2000-01-01T00:00:00Z';

it('relay checkpoint moves forward only: a stale leader writing an older position leaves it unchanged', async () => {
  for (let i = 0; i < 5; i++) await store.append(`s-${i}`, [{ type: 'E', data: { i } }]);
  let deposed = false;
  const relay = new Relay({
    databaseUrl: db.url,
    redis,
    keyPrefix: ns.prefix,
    hooks: {
      // Between this leader's XADD and its checkpoint write, a successor
      // (which took over meanwhile) has moved the checkpoint far ahead: this
      // relay is now a stale leader that still writes.
      beforeCheckpoint: async () => {
        if (deposed) return;
        deposed = true;
        await store.pool.query(
          `UPDATE refract.relay_checkpoints SET position = $1, updated_at = $2 WHERE name = 'main'`,
          [SUCCESSOR_POSITION, SUCCESSOR_STAMP],
        );
      },
    },
  });
  relay.start();
  try {
    await eventually(() => expect(relay.status().publishedPosition).toBe(5));
    // The stale leader has written its checkpoint (its write stamps the row)...
    await eventually(async () => {
      const { rows } = await store.pool.query<{ written: boolean }>(
        `SELECT updated_at > $1::timestamptz AS written FROM refract.relay_checkpoints WHERE name = 'main'`,
        [SUCCESSOR_STAMP],
      );
      expect(rows[0]?.written).toBe(true);
    });
  } finally {
    await relay.close();
  }
  // ...and it did not take the successor's progress back.
  const { rows } = await store.pool.query<{ position: string }>(
    `SELECT position FROM refract.relay_checkpoints WHERE name = 'main'`,
  );
  expect(Number(rows[0]!.position)).toBe(SUCCESSOR_POSITION);
});
