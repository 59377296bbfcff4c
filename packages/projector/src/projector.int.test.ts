import { connect, createServer, type Socket } from 'node:net';
import {
  type AnyProjection,
  defineCounterProjection,
  defineProjection,
  type Projection,
  partitionOf,
} from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { Relay } from '@refract/relay';
import type { RedisClient } from '@refract/stream-bus';
import { createRedisClient, readCounters } from '@refract/stream-bus';
import {
  createTestDatabase,
  eventually,
  freePort,
  type RedisServer,
  startRedisServer,
  type TestDatabase,
} from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyToSlot } from './apply.js';
import { CheckpointMoved } from './commit-with-checkpoints.js';
import { retryParkedEvent, skipParkedEvent } from './parked.js';
import { PartitionRunner } from './partition-runner.js';
import { registerProjection } from './register.js';
import { CHECKPOINTS_CHANNEL } from './sql.js';
import { ProjectorWorker } from './worker.js';

const PARTITIONS = 16;
const ALL = Array.from({ length: PARTITIONS }, (_, p) => p);
const logger = createLogger({ service: 'projector-test', level: 'silent' });
let db: TestDatabase;
let store: EventStore;
let server: RedisServer;
let redis: RedisClient;
let relay: Relay;

/** Counts events per stream by incrementing: a double delivery shows as a wrong count. */
function tally(name: string, extra: Partial<Projection> = {}): Projection {
  return {
    ...defineProjection({
      name,
      version: 1,
      pool: 'test',
      handles: ['Counted', 'Poison'],
      tables: [name],
      setup: (table) =>
        `CREATE TABLE IF NOT EXISTS ${table(name)} (stream_id text PRIMARY KEY, count int NOT NULL, last_position bigint NOT NULL)`,
      async applyBatch(events, ctx) {
        for (const event of events) {
          if (event.type === 'Poison' && (event.data as { fail?: boolean }).fail) {
            throw new Error(`cannot apply ${event.position}`);
          }
          await ctx.sql.query(
            `INSERT INTO ${ctx.table(name)} AS t VALUES ($1, 1, $2)
             ON CONFLICT (stream_id) DO UPDATE SET count = t.count + 1, last_position = EXCLUDED.last_position`,
            [event.streamId, event.position],
          );
        }
      },
      retryBackoffMs: 5,
      maxAttempts: 3,
    }),
    ...extra,
  };
}

async function appendMany(count: number, streams: number, offset = 0) {
  for (let i = 0; i < count; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, (_, j) =>
        store.append(`s-${(offset + i + j) % streams}`, [{ type: 'Counted', data: {} }]),
      ),
    );
  }
}

async function counts(table: string): Promise<Map<string, number>> {
  const rows = await store.pool.query<{ stream_id: string; count: number }>(
    `SELECT stream_id, count FROM projections.${table}`,
  );
  return new Map(rows.rows.map((r) => [r.stream_id, r.count]));
}

async function expected(types = ['Counted', 'Poison']): Promise<Map<string, number>> {
  const rows = await store.pool.query<{ stream_id: string; n: string }>(
    // A Poison event marked to fail is parked by every tally, never counted.
    `SELECT stream_id, count(*) AS n FROM refract.events
     WHERE type = ANY($1) AND (type <> 'Poison' OR coalesce(data->>'fail', '') <> 'true')
     GROUP BY stream_id`,
    [types],
  );
  return new Map(rows.rows.map((r) => [r.stream_id, Number(r.n)]));
}

function worker(
  projections: AnyProjection[],
  keyPrefix = 'refract:',
  options: { concurrentBatches?: number; heartbeatMs?: number; leaseTtlMs?: number } = {},
) {
  return new ProjectorWorker({
    databaseUrl: db.url,
    redisUrl: server.url,
    keyPrefix,
    pool: 'test',
    projections,
    heartbeatMs: 200,
    leaseTtlMs: 1500,
    blockMs: 200,
    batchSize: 100,
    logger,
    ...options,
  });
}

beforeAll(async () => {
  db = await createTestDatabase('projector');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  server = await startRedisServer();
  redis = createRedisClient(server.url, { failFast: false });
  relay = new Relay({ databaseUrl: db.url, redis: createRedisClient(server.url), windowSize: 200 });
  relay.start();
});

afterAll(async () => {
  await relay?.close();
  redis?.disconnect();
  await store?.close();
  await server?.kill();
  await db?.drop();
});

describe('a worker', () => {
  it('catches up, follows live events, survives FLUSHALL, and applies each event exactly once', async () => {
    await appendMany(1500, 40);
    const projection = tally('tally_a');
    const w = worker([projection]);
    await w.start();
    try {
      await eventually(async () => expect(await counts('tally_a')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
      expect(w.status().partitions).toEqual(ALL);
      await appendMany(500, 40, 1500);
      await redis.flushall();
      await appendMany(500, 40, 2000);
      await eventually(async () => expect(await counts('tally_a')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
    } finally {
      await w.close();
    }
  });

  it('starts a projection registered late from zero, through Postgres', async () => {
    const w = worker([tally('tally_late')]);
    await w.start();
    try {
      await eventually(async () => expect(await counts('tally_late')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
      await appendMany(100, 40, 3000);
      await eventually(async () => expect(await counts('tally_late')).toEqual(await expected()));
    } finally {
      await w.close();
    }
  });

  it('started while Postgres cuts every session, waits the outage out and then works', async () => {
    // A door in front of Postgres: closed, it cuts each connection as it opens.
    let open = false;
    let cut = 0;
    const sockets = new Set<Socket>();
    const door = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      if (!open) {
        cut += 1;
        client.destroy();
        return;
      }
      const upstream = connect(Number(new URL(db.url).port || 5432), new URL(db.url).hostname);
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      client.pipe(upstream).pipe(client);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => door.listen(port, '127.0.0.1', resolve));
    const url = new URL(db.url);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const w = new ProjectorWorker({
      databaseUrl: url.toString(),
      redisUrl: server.url,
      pool: 'test',
      projections: [tally('tally_outage')],
      heartbeatMs: 200,
      leaseTtlMs: 1500,
      blockMs: 200,
      logger,
    });
    const starting = w.start();
    try {
      // It tried, was cut, and tried again: it did not give up at the first error.
      await eventually(() => expect(cut).toBeGreaterThanOrEqual(2));
      open = true;
      await starting;
      await appendMany(100, 40, 4000);
      await eventually(async () => expect(await counts('tally_outage')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
    } finally {
      open = true;
      await starting.catch(() => {});
      await w.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => door.close(resolve));
    }
  });

  it('closed while it starts, ends the start and leaves nothing open behind the close', async () => {
    const w = worker([tally('tally_closed_early')]);
    const starting = w.start();
    const closing = w.close();
    await expect(starting).rejects.toThrow('worker closed while starting');
    await closing;
    // Both have settled: a start that went on past the close would have
    // connected its Redis client (named after the worker) by now.
    const clients = (await redis.client('LIST')) as string;
    expect(clients).not.toContain(`name=refract-worker-${w.id}`);
    expect(w.status().partitions).toEqual([]);
  });

  it('lets a quiet partition wait on its stream while others are busy, instead of reading Postgres every round', async () => {
    const quiet = partitionOf('s-0', PARTITIONS);
    const busyStreams = Array.from({ length: 200 }, (_, i) => `busy-${i}`).filter(
      (id) => partitionOf(id, PARTITIONS) !== quiet,
    );
    const w = worker([tally('tally_quiet')]);
    await w.start();
    const listener = await store.pool.connect();
    const notices: string[] = [];
    listener.on('notification', (n) => notices.push(n.payload!));
    try {
      await eventually(async () => expect(await counts('tally_quiet')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
      await listener.query(`LISTEN ${CHECKPOINTS_CHANNEL}`);
      const started = performance.now();
      // Two seconds of traffic everywhere but the quiet partition.
      for (let round = 0; performance.now() - started < 2000; round++) {
        await Promise.all(
          busyStreams
            .slice((round * 20) % busyStreams.length, ((round * 20) % busyStreams.length) + 20)
            .map((id) => store.append(id, [{ type: 'Counted', data: {} }])),
        );
      }
      await eventually(async () => expect(await counts('tally_quiet')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
      const elapsedMs = performance.now() - started;
      const quietCommits = notices.filter((n) => n.startsWith(`tally_quiet:1:${quiet}:`)).length;
      const busyCommits = notices.filter((n) => n.startsWith('tally_quiet:')).length - quietCommits;
      expect(busyCommits).toBeGreaterThan(50);
      // At most one Postgres look per blocking read that timed out (blockMs
      // 200 here), not one per round of the busy partitions.
      expect(quietCommits).toBeLessThanOrEqual(Math.ceil(elapsedMs / 200) + 5);
    } finally {
      listener.release();
      await w.close();
    }
  });

  it('holds no more events at once than concurrentBatches × batchSize, over all its partitions', async () => {
    let inHand = 0;
    let most = 0;
    const base = tally('tally_gate');
    const projection = tally('tally_gate', {
      async applyBatch(events, ctx) {
        inHand += events.length;
        most = Math.max(most, inHand);
        try {
          // Slow enough that, ungated, the 16 partitions' batches overlap
          // (800 events in hand).
          await new Promise((resolve) => setTimeout(resolve, 20));
          await base.applyBatch(events, ctx);
        } finally {
          inHand -= events.length;
        }
      },
    });
    await appendMany(800, 40, 5000);
    const w = worker([projection], 'refract:', { concurrentBatches: 2 });
    await w.start();
    try {
      await eventually(async () => expect(await counts('tally_gate')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
      expect(most).toBeGreaterThan(0);
      // batchSize 100 in these tests.
      expect(most).toBeLessThanOrEqual(2 * 100);
    } finally {
      await w.close();
    }
  });
});

describe('a pool', () => {
  it('shares partitions between workers and hands them over when one stops', async () => {
    const a = worker([tally('tally_pool')]);
    const b = worker([tally('tally_pool')]);
    await a.start();
    await b.start();
    try {
      await eventually(() => {
        const owned = [...a.status().partitions, ...b.status().partitions].sort((x, y) => x - y);
        expect(owned).toEqual(ALL);
        expect(a.status().partitions.length).toBeGreaterThan(0);
        expect(b.status().partitions.length).toBeGreaterThan(0);
      });
      await appendMany(300, 40, 4000);
      await b.close();
      await eventually(() => expect(a.status().partitions).toEqual(ALL), {
        timeoutMs: 3000,
      });
      await appendMany(300, 40, 4300);
      await eventually(async () => expect(await counts('tally_pool')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
    } finally {
      await a.close();
      await b.close();
    }
  });
  it('a worker that joins takes its share as soon as the old owner lets go, not at its next heartbeat', async () => {
    const a = worker([tally('tally_claim')], 'refract-claim:');
    // B's second heartbeat is 4 s away: what it owns before then, it took
    // between heartbeats, once A released the leases (A sees B within 200 ms).
    const b = worker([tally('tally_claim')], 'refract-claim:', {
      heartbeatMs: 4000,
      leaseTtlMs: 10_000,
    });
    await a.start();
    try {
      await eventually(() => expect(a.status().partitions).toEqual(ALL));
      await b.start();
      await eventually(
        () => {
          const owned = [...a.status().partitions, ...b.status().partitions].sort((x, y) => x - y);
          expect(owned).toEqual(ALL);
          expect(b.status().partitions.length).toBeGreaterThan(0);
        },
        { timeoutMs: 2500 },
      );
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('poison events', () => {
  it('parks an event after one immediate retry and goes on with the rest of the partition', async () => {
    await store.append('s-poison', [{ type: 'Poison', data: { fail: true } }]);
    await appendMany(50, 40, 5000);
    const w = worker([tally('tally_poison')]);
    await w.start();
    try {
      const parked = await eventually(async () => {
        const rows = await store.pool.query(
          "SELECT * FROM refract.parked_events WHERE projection = 'tally_poison'",
        );
        expect(rows.rows).toHaveLength(1);
        return rows.rows[0];
      });
      // A deterministic failure: tried twice, no backoff (maxAttempts bounds transient ones).
      expect(parked).toMatchObject({
        stream_id: 's-poison',
        event_type: 'Poison',
        attempts: 2,
        behind: null,
      });
      const want = await expected(['Counted']);
      await eventually(async () => {
        const got = await counts('tally_poison');
        expect(got.get('s-poison')).toBeUndefined();
        got.delete('s-poison');
        expect(got).toEqual(want);
      });
    } finally {
      await w.close();
    }
  });

  it('halts only its partition when so configured', async () => {
    const w = worker([tally('tally_halt', { onError: 'halt' })]);
    await w.start();
    try {
      const poisoned = store.partitionOf('s-poison');
      await eventually(
        async () => {
          const rows = await store.pool.query<{
            partition: number;
            halted_at: number | null;
            position: number;
          }>(
            "SELECT partition, halted_at, position FROM refract.projection_checkpoints WHERE projection = 'tally_halt' ORDER BY partition",
          );
          const head = await store.headPosition();
          for (const row of rows.rows) {
            if (row.partition === poisoned) expect(row.halted_at).not.toBeNull();
            else expect(row.position).toBe(head);
          }
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await w.close();
    }
  });
});

describe('compare-and-set on the checkpoint', () => {
  it('refuses the batch of a worker whose partition moved on (a zombie), applying nothing twice', async () => {
    const projection = tally('tally_zombie');
    await registerProjection(store.pool, projection, PARTITIONS);
    await store.append('zombie-stream', [
      { type: 'Counted', data: {} },
      { type: 'Counted', data: {} },
    ]);
    const partition = store.partitionOf('zombie-stream');
    const events = await store.readAll({ partitions: [partition], limit: 100_000 });
    const through = events.at(-1)!.position;
    // Two workers both believe they own the partition at checkpoint 0.
    const live = { projection, version: 1, position: 0, halted: false };
    const zombie = { ...live };
    await applyToSlot(store.pool, live, partition, events, through, logger);
    await expect(
      applyToSlot(store.pool, zombie, partition, events, through, logger),
    ).rejects.toBeInstanceOf(CheckpointMoved);
    const got = await counts('tally_zombie');
    const want = await expected();
    for (const [stream, count] of got) expect(count).toBe(want.get(stream));
    expect(got.get('zombie-stream')).toBe(2);
  });
});

describe('a partition runner whose checkpoint moved while Redis is down', () => {
  it('retries the ownership check instead of dying, and goes on applying', async () => {
    const a = tally('tally_moved_a');
    const b = tally('tally_moved_b');
    let moved = false;
    // Runs in a's batch, before b's: another worker applies the same batch to b
    // first, so b's compare-and-set fails and the runner asks who owns the partition.
    a.applyBatch = async (events, ctx) => {
      await tally('tally_moved_a').applyBatch(events, ctx);
      if (moved) return;
      moved = true;
      await store.pool.query(
        `UPDATE refract.projection_checkpoints SET position = $1
         WHERE projection = 'tally_moved_b' AND partition = $2`,
        [events.at(-1)!.position, ctx.partition],
      );
    };
    await registerProjection(store.pool, a, PARTITIONS);
    await registerProjection(store.pool, b, PARTITIONS);
    // Start at the head: only this test's events matter, not the other tests' backlog.
    await store.pool.query(
      `UPDATE refract.projection_checkpoints SET position = (SELECT coalesce(max(position), 0) FROM refract.events)
       WHERE projection IN ('tally_moved_a', 'tally_moved_b')`,
    );
    // The lease lives in Redis; here Redis is gone (nothing listens on the port).
    const downRedis = createRedisClient(`redis://127.0.0.1:${await freePort()}`);
    let checks = 0;
    await store.append('moved-1', [{ type: 'Counted', data: {} }]);
    const partition = store.partitionOf('moved-1');
    const runner = new PartitionRunner({
      partition,
      store,
      redis: createRedisClient(server.url),
      control: redis,
      keyPrefix: 'refract:',
      active: () => [
        { projection: a, version: 1 },
        { projection: b, version: 1 },
      ],
      batchSize: 100,
      blockMs: 100,
      log: logger,
      onCheckpointMoved: async () => {
        checks += 1;
        return (await downRedis.get('lease')) === null;
      },
    });
    try {
      runner.start();
      await eventually(() => expect(checks).toBeGreaterThan(0), { timeoutMs: 20_000 });
      // Still running: the next event of the partition reaches both projections.
      await store.append('moved-1', [{ type: 'Counted', data: {} }]);
      await eventually(
        async () => {
          expect((await counts('tally_moved_a')).get('moved-1')).toBe(2);
          // b's first event was "applied by the other worker" (only its checkpoint moved).
          expect((await counts('tally_moved_b')).get('moved-1')).toBe(1);
        },
        { timeoutMs: 20_000 },
      );
    } finally {
      await runner.stop();
      downRedis.disconnect();
    }
  });
});

describe('parked events', () => {
  it('retried after the handler is fixed, are applied once; skipped ones are not applied', async () => {
    let fixed = false;
    const base = tally('tally_fixed');
    const projection: Projection = {
      ...base,
      async applyBatch(events, ctx) {
        if (!fixed && events.some((e) => e.type === 'Poison')) throw new Error('not fixed yet');
        await base.applyBatch(
          events.map((e) => (e.type === 'Poison' ? { ...e, data: {} } : e)),
          ctx,
        );
      },
    };
    await store.append('s-fixable', [{ type: 'Poison', data: {} }]);
    await store.append('s-skippable', [{ type: 'Poison', data: {} }]);
    const w = worker([projection]);
    await w.start();
    let parked: { id: string; stream_id: string }[] = [];
    try {
      parked = await eventually(
        async () => {
          const rows = await store.pool.query<{ id: string; stream_id: string }>(
            "SELECT id, stream_id FROM refract.parked_events WHERE projection = 'tally_fixed' AND stream_id IN ('s-fixable', 's-skippable')",
          );
          expect(rows.rows).toHaveLength(2);
          return rows.rows;
        },
        { timeoutMs: 30_000 },
      );
    } finally {
      await w.close();
    }
    const fixable = Number(parked.find((p) => p.stream_id === 's-fixable')!.id);
    const skippable = Number(parked.find((p) => p.stream_id === 's-skippable')!.id);
    fixed = true;
    const results = await Promise.allSettled([
      retryParkedEvent(store, projection, fixable),
      retryParkedEvent(store, projection, fixable),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason,
    ).toMatchObject({
      code: 'already_resolved',
    });
    await skipParkedEvent(store, 'tally_fixed', skippable);
    await expect(retryParkedEvent(store, projection, skippable)).rejects.toMatchObject({
      code: 'already_resolved',
    });
    const got = await counts('tally_fixed');
    expect(got.get('s-fixable')).toBe(1);
    expect(got.get('s-skippable')).toBeUndefined();
  });
});

describe('a counter projection kept in Redis', () => {
  it('counts exactly, and rebuilds itself from the log after Redis loses it', async () => {
    const counter = defineCounterProjection({
      name: 'live_counter',
      version: 1,
      pool: 'test',
      handles: ['Counted'],
      increments: (events) => ({ counted: events.length }),
    });
    const w = worker([counter]);
    await w.start();
    const want = async () => {
      const rows = await store.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM refract.events WHERE type = 'Counted'",
      );
      return Number(rows.rows[0]!.n);
    };
    try {
      await eventually(
        async () =>
          expect(
            (await readCounters(redis, 'refract:', 'live_counter', 1, PARTITIONS)).counted,
          ).toBe(await want()),
        { timeoutMs: 30_000 },
      );
      await appendMany(200, 40, 6000);
      await redis.flushall();
      await appendMany(100, 40, 6200);
      await eventually(
        async () =>
          expect(
            (await readCounters(redis, 'refract:', 'live_counter', 1, PARTITIONS)).counted,
          ).toBe(await want()),
        { timeoutMs: 30_000 },
      );
    } finally {
      await w.close();
    }
  });
});

describe('pause and resume', () => {
  it('stops applying within a second of the flag and goes on from where it was', async () => {
    // The witness runs beside it, unpaused: once it has the new events, the
    // worker has read them and the paused projection had its chance to apply them.
    const w = worker([tally('tally_pause'), tally('tally_witness')]);
    await w.start();
    const runsPaused = () => w.status().checkpoints.some((c) => c.projection === 'tally_pause');
    try {
      await eventually(async () => expect(await counts('tally_pause')).toEqual(await expected()), {
        timeoutMs: 30_000,
      });
      await store.pool.query(
        "UPDATE refract.projections SET paused = true WHERE name = 'tally_pause'",
      );
      // Every runner has dropped it: no batch of it is in hand any more.
      await eventually(() => expect(runsPaused()).toBe(false));
      const frozen = await counts('tally_pause');
      await appendMany(100, 40, 7000);
      await eventually(
        async () => expect(await counts('tally_witness')).toEqual(await expected()),
        {
          timeoutMs: 30_000,
        },
      );
      expect(await counts('tally_pause')).toEqual(frozen);
      await store.pool.query(
        "UPDATE refract.projections SET paused = false WHERE name = 'tally_pause'",
      );
      await eventually(async () => expect(await counts('tally_pause')).toEqual(await expected()));
    } finally {
      await w.close();
    }
  });
});
