import { randomUUID } from 'node:crypto';
import { EventStore, migrate } from '@refract/event-store';
import type { RedisClient } from '@refract/stream-bus';
import { createRedisClient, readPartitionStream, waitUntilReady } from '@refract/stream-bus';
import {
  createTestDatabase,
  createTestRedisNamespace,
  eventually,
  startRedisServer,
  type TestDatabase,
  type TestRedisNamespace,
} from '@refract/testing';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readPublishedPosition } from './published-position.js';
import { Relay, type RelayOptions } from './relay.js';

const PARTITIONS = 4;
let db: TestDatabase;
let ns: TestRedisNamespace;
let redis: RedisClient;
let store: EventStore;
const relays: Relay[] = [];
let keyPrefix: string;

beforeAll(async () => {
  db = await createTestDatabase('relay');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  ns = createTestRedisNamespace('relay');
  redis = createRedisClient(ns.url, { name: 'relay-test' });
  store = await EventStore.open({ databaseUrl: db.url });
});

afterAll(async () => {
  await store?.close();
  redis?.disconnect();
  await ns?.cleanup();
  await db?.drop();
});

// Each test starts from an empty log, so positions and checkpoints are its own.
beforeEach(async () => {
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  // A transaction some failed test left open would make the TRUNCATE wait
  // forever, and every later test time out behind it: fail here, and fast.
  await admin.query("SET lock_timeout = '5s'");
  await admin.query(
    `TRUNCATE refract.events, refract.streams, refract.relay_checkpoints;
     ALTER SEQUENCE refract.events_position_seq RESTART WITH 1`,
  );
  await admin.end();
  keyPrefix = `${ns.prefix}${randomUUID().slice(0, 6)}:`;
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
  // Ending a session rolls back what a failed test left open in it.
  await Promise.all(sessions.splice(0).map((client) => client.end().catch(() => {})));
});

/** Sessions a test opens and may leave in a transaction should it fail. */
const sessions: pg.Client[] = [];

/**
 * Counts a relay's rounds as leader and its lost tries for leadership: the
 * positive sign that it had its chance to do what a test asserts it did not.
 */
function chances() {
  const seen = { rounds: 0, lostTries: 0 };
  const hooks: RelayOptions['hooks'] = {
    afterRound: () => {
      seen.rounds += 1;
    },
    afterLeaderAttempt: (won) => {
      if (!won) seen.lostTries += 1;
    },
  };
  return { seen, hooks };
}

/**
 * Resolves once the relay has gone round `count` more times, or as soon as
 * it published anything (a relay that wrongly went on may go idle for good;
 * the test's own assertion then says what it published).
 */
async function moreRounds(seen: { rounds: number }, count: number): Promise<void> {
  const target = seen.rounds + count;
  await eventually(async () => {
    if (seen.rounds >= target || (await published()).length > 0) return;
    throw new Error(`the relay went round ${seen.rounds} times, waiting for ${target}`);
  });
}

function startRelay(options: Partial<RelayOptions> = {}): Relay {
  const relay = new Relay({
    databaseUrl: db.url,
    redis,
    keyPrefix,
    leaderRetryMs: 100,
    ...options,
  });
  relays.push(relay);
  relay.start();
  return relay;
}

async function published(client: RedisClient = redis, prefix = keyPrefix) {
  const all: { position: number; prev: number; partition: number }[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (const entry of await readPartitionStream(client, prefix, p, 0, 1_000_000)) {
      all.push({ position: entry.position, prev: entry.prev, partition: p });
      expect(entry.event.partition).toBe(p);
      expect(entry.event.position).toBe(entry.position);
    }
  }
  return all;
}

/** Every committed position exactly once, each stream ascending, every prev link right. */
async function expectExactlyOnce(client: RedisClient = redis, prefix = keyPrefix, from = 0) {
  const rows = await db_query<{ position: string; partition: number }>(
    'SELECT position, partition FROM refract.events ORDER BY position',
  );
  const entries = await published(client, prefix);
  const positions = entries.map((e) => e.position).sort((a, b) => a - b);
  expect(new Set(positions).size).toBe(positions.length);
  const committed = rows.map((r) => Number(r.position)).filter((p) => p > from);
  expect(positions.filter((p) => p > from)).toEqual(committed);
  const prevOf = new Map<number, number>();
  let last = new Array<number>(PARTITIONS).fill(0);
  for (const row of rows) {
    prevOf.set(Number(row.position), last[row.partition]!);
    last = [...last];
    last[row.partition] = Number(row.position);
  }
  for (let p = 0; p < PARTITIONS; p++) {
    const stream = entries.filter((e) => e.partition === p);
    expect(stream.map((e) => e.position)).toEqual(
      [...stream.map((e) => e.position)].sort((a, b) => a - b),
    );
    for (const entry of stream) expect(entry.prev).toBe(prevOf.get(entry.position));
  }
  return positions;
}

async function db_query<T extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * An append done by hand, following the store's protocol (transaction id
 * first, then positions), left open so the test decides when it ends.
 */
async function openAppend(streamId: string) {
  const client = new pg.Client({ connectionString: db.url });
  sessions.push(client);
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT pg_current_xact_id()');
  const row = await client.query<{ position: string }>(
    `INSERT INTO refract.events (position, stream_id, version, partition, event_id, type, data, tx_id)
     VALUES (nextval('refract.events_position_seq'), $1, 0, 0, $2, 'Held', '{}', pg_current_xact_id())
     RETURNING position`,
    [streamId, randomUUID()],
  );
  return {
    position: Number(row.rows[0]!.position),
    commit: async () => {
      await client.query("SELECT pg_notify('refract_events', '')");
      await client.query('COMMIT');
      await client.end();
    },
    rollback: async () => {
      await client.query('ROLLBACK');
      await client.end();
    },
  };
}

async function savedCheckpoint(): Promise<number> {
  const [row] = await db_query<{ position: string }>(
    'SELECT position FROM refract.relay_checkpoints',
  );
  return Number(row?.position ?? 0);
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('commit order', () => {
  it('holds a later commit until the earlier position commits, then publishes both in order', async () => {
    const { seen, hooks } = chances();
    const relay = startRelay({ pollIntervalMs: 60_000, hooks });
    const a = await openAppend('order-a');
    const b = await store.append('order-b', [{ type: 'Later', data: {} }]);
    expect(b.firstPosition).toBe(a.position + 1);
    // The relay has read b and holds it behind a, then looks again a few times.
    await eventually(() => expect(relay.status().heldAt?.position).toBe(a.position));
    await moreRounds(seen, 3);
    expect(await published()).toEqual([]);
    await a.commit();
    const positions = await eventually(async () => {
      const got = await expectExactlyOnce();
      expect(got).toHaveLength(2);
      return got;
    });
    expect(positions).toEqual([a.position, b.firstPosition]);
  });

  it('gives up a rolled-back gap as soon as its transaction ended, not after a timeout', async () => {
    const { seen, hooks } = chances();
    const relay = startRelay({ pollIntervalMs: 60_000, hooks });
    const a = await openAppend('order-a');
    const b = await store.append('order-b', [{ type: 'Later', data: {} }]);
    await eventually(() => expect(relay.status().heldAt?.position).toBe(a.position));
    await eventually(() => expect(relay.status().heldAt!.forMs).toBeGreaterThanOrEqual(150));
    await moreRounds(seen, 3);
    expect(await published()).toEqual([]);
    await a.rollback();
    await eventually(async () => expect(await expectExactlyOnce()).toEqual([b.firstPosition]), {
      timeoutMs: 2000,
    });
    expect(relay.status().heldAt).toBeNull();
    expect(relay.status().publishedPosition).toBe(b.firstPosition);
  });

  it('does not give up a gap whose transaction has a newer id than every one that completed', async () => {
    // B takes its id after A, draws position p and stays open; A draws p + 1
    // and commits. B's id is then above every completed id, so it is not in
    // the xip list of the relay's snapshot and not below that snapshot's xmax.
    const { seen, hooks } = chances();
    const relay = startRelay({ pollIntervalMs: 60_000, hooks });
    const a = new pg.Client({ connectionString: db.url });
    const b = new pg.Client({ connectionString: db.url });
    sessions.push(a, b);
    await a.connect();
    await b.connect();
    try {
      const insert = (client: pg.Client, stream: string) =>
        client.query(
          `INSERT INTO refract.events (position, stream_id, version, partition, event_id, type, data, tx_id)
           VALUES (nextval('refract.events_position_seq'), $1, 0, 0, gen_random_uuid(), 'E', '{}', pg_current_xact_id())
           RETURNING position`,
          [stream],
        );
      await a.query('BEGIN');
      await a.query('SELECT pg_current_xact_id()');
      await b.query('BEGIN');
      await b.query('SELECT pg_current_xact_id()');
      const held = Number((await insert(b, 'order-b')).rows[0].position);
      const later = Number((await insert(a, 'order-a')).rows[0].position);
      await a.query("SELECT pg_notify('refract_events', '')");
      await a.query('COMMIT');
      await eventually(() => expect(relay.status().heldAt?.position).toBe(held));
      // Held with A committed, it looks again and again without giving the gap up.
      await moreRounds(seen, 10);
      expect(await published()).toEqual([]);
      await b.query("SELECT pg_notify('refract_events', '')");
      await b.query('COMMIT');
      await eventually(async () => expect(await expectExactlyOnce()).toEqual([held, later]));
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('publishes every position exactly once under 20 writers with random commit delays and rollbacks', async () => {
    startRelay({ batchSize: 300 });
    const writers = Array.from({ length: 20 }, async (_, w) => {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        for (let i = 0; i < 500; i++) {
          const streamId = `writer-${w}-${i % 7}`;
          await client.query('BEGIN');
          await client.query('SELECT pg_current_xact_id()');
          await client.query(
            `INSERT INTO refract.events (position, stream_id, version, partition, event_id, type, data, tx_id)
             VALUES (nextval('refract.events_position_seq'), $1, $2, $3, $4, 'E', '{}', pg_current_xact_id())`,
            [streamId, i, (w + i) % PARTITIONS, randomUUID()],
          );
          if (Math.random() < 0.3) await wait(Math.random() * 4);
          if (Math.random() < 0.02) {
            await client.query('ROLLBACK');
          } else {
            await client.query("SELECT pg_notify('refract_events', '')");
            await client.query('COMMIT');
          }
        }
      } finally {
        await client.end();
      }
    });
    await Promise.all(writers);
    const committed = Number(
      (await db_query<{ n: string }>('SELECT count(*) n FROM refract.events'))[0]!.n,
    );
    expect(committed).toBeGreaterThan(9000);
    await eventually(async () => expect(await expectExactlyOnce()).toHaveLength(committed), {
      timeoutMs: 30_000,
    });
  });
});

describe('crashes and leadership', () => {
  it('re-publishes nothing twice after a crash between XADD and the checkpoint write', async () => {
    for (let i = 0; i < 30; i++) await store.append(`s-${i}`, [{ type: 'E', data: { i } }]);
    let crashes = 0;
    startRelay({
      batchSize: 10,
      hooks: {
        beforeCheckpoint: () => {
          if (crashes < 3) {
            crashes += 1;
            throw new Error('simulated crash before the checkpoint write');
          }
        },
      },
    });
    await eventually(async () => expect(await expectExactlyOnce()).toHaveLength(30));
    expect(crashes).toBe(3);
    // The checkpoint trails Redis by a round; an idle relay writes it soon.
    await eventually(async () => {
      const [row] = await db_query<{ position: string }>(
        'SELECT position FROM refract.relay_checkpoints',
      );
      expect(Number(row!.position)).toBe(30);
    });
  });

  it('never saves a checkpoint ahead of Redis, and saves the head once idle or closed', async () => {
    // A private server, since the test pauses its writes: XADDs stall while
    // the relay's next read (and the checkpoint it carries) goes ahead.
    const server = await startRedisServer();
    const client = createRedisClient(server.url, { name: 'relay-checkpoint' });
    const pauser = createRedisClient(server.url, { name: 'relay-pauser', failFast: false });
    await waitUntilReady(client, 5000);
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    const relay = startRelay({ redis: client, batchSize: 7 });
    try {
      let writing = true;
      const writers = Array.from({ length: 6 }, async (_, w) => {
        for (let i = 0; i < 60; i++) await store.append(`w-${w}`, [{ type: 'E', data: { i } }]);
      });
      const all = Promise.all(writers).finally(() => {
        writing = false;
      });
      const pauses = (async () => {
        while (writing) {
          await pauser.call('CLIENT', 'PAUSE', '100', 'WRITE');
          await wait(120);
        }
      })();
      let samples = 0;
      while (writing) {
        const checkpoint = Number(
          (await reader.query('SELECT position FROM refract.relay_checkpoints')).rows[0]
            ?.position ?? 0,
        );
        // Read on a connection of its own: the relay's is stuck behind its paused XADDs.
        const inRedis = new Set((await published(pauser)).map((e) => e.position));
        for (let p = 1; p <= checkpoint; p++) expect(inRedis.has(p)).toBe(true);
        samples += 1;
      }
      await all;
      await pauses;
      expect(samples).toBeGreaterThan(1);
      await eventually(async () => expect(await savedCheckpoint()).toBe(360));
      expect(await expectExactlyOnce(client)).toHaveLength(360);

      // Closed as soon as it published: the checkpoint is at what it published (saved idle or on close).
      await store.append('w-last', [{ type: 'E', data: {} }]);
      await eventually(() => expect(relay.status().publishedPosition).toBe(361));
      await relay.close();
      expect(await savedCheckpoint()).toBe(361);
    } finally {
      await relay.close();
      await reader.end();
      client.disconnect();
      pauser.disconnect();
      await server.kill();
    }
  });

  it('has one leader at a time; when its connection dies another takes over', async () => {
    const first = startRelay();
    await eventually(() => expect(first.status().leader).toBe(true));
    const { seen, hooks } = chances();
    const second = startRelay({ hooks });
    await eventually(() => expect(seen.lostTries).toBeGreaterThanOrEqual(2));
    expect(second.status().leader).toBe(false);
    await store.append('s-1', [{ type: 'E', data: {} }]);
    await eventually(async () => expect(await expectExactlyOnce()).toHaveLength(1));

    await db_query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'refract-relay-main' AND datname = current_database()
         AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)`,
    );
    await eventually(() => expect(second.status().leader || first.status().leader).toBe(true));
    await store.append('s-2', [{ type: 'E', data: {} }]);
    await eventually(async () => expect(await expectExactlyOnce()).toHaveLength(2));
    expect([first.status().leader, second.status().leader].filter(Boolean)).toHaveLength(1);
  });

  it('a relay closed gracefully hands over at once', async () => {
    const first = startRelay();
    await eventually(() => expect(first.status().leader).toBe(true));
    const second = startRelay();
    await first.close();
    await eventually(() => expect(second.status().leader).toBe(true), { timeoutMs: 2000 });
  });
});

describe('positions for other packages', () => {
  it('reports the head of the log and how far the relay published, from any pool', async () => {
    const raw = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      expect(await readPublishedPosition(raw)).toBe(0);
      const relay = startRelay();
      for (let i = 0; i < 5; i++) await store.append(`p-${i}`, [{ type: 'E', data: { i } }]);
      // A raw pool reads bigint as text, the store's as numbers: both give numbers.
      expect(await relay.headPosition()).toBe(5);
      expect(await store.headPosition()).toBe(5);
      await eventually(async () => expect(await readPublishedPosition(raw)).toBe(5));
      expect(await readPublishedPosition(store.pool, 'main')).toBe(5);
      expect(await readPublishedPosition(store.pool, 'other')).toBe(0);
    } finally {
      await raw.end();
    }
  });
});

describe('Redis outages', () => {
  it('keeps appends working while Redis is down and catches up when it returns; goes on after FLUSHALL', async () => {
    const server = await startRedisServer();
    const client = createRedisClient(server.url, { name: 'relay-outage' });
    const relay = startRelay({ redis: client });
    try {
      for (let i = 0; i < 20; i++) await store.append(`s-${i % 5}`, [{ type: 'E', data: { i } }]);
      await eventually(async () => expect(await expectExactlyOnce(client)).toHaveLength(20));

      await server.kill();
      // Appends do not depend on Redis.
      for (let i = 20; i < 60; i++) await store.append(`s-${i % 5}`, [{ type: 'E', data: { i } }]);
      await eventually(() => expect(relay.status().redisAvailable).toBe(false));
      await server.restart();
      // Redis came back empty: everything after the relay's checkpoint is published, prev links intact.
      await eventually(
        async () => expect(await expectExactlyOnce(client, keyPrefix, 20)).toHaveLength(40),
        {
          timeoutMs: 15_000,
        },
      );

      await client.flushall();
      for (let i = 60; i < 80; i++) await store.append(`s-${i % 5}`, [{ type: 'E', data: { i } }]);
      await eventually(async () =>
        expect(await expectExactlyOnce(client, keyPrefix, 60)).toHaveLength(20),
      );
      expect(relay.status().publishedPosition).toBe(80);
    } finally {
      await relay.close();
      client.disconnect();
      await server.kill();
    }
  });
});
