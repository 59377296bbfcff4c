import { defineProjection, type RecordedEvent } from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Slot } from './apply.js';
import { BatchCommitter } from './batch-committer.js';
import { CheckpointMoved } from './commit-with-checkpoints.js';
import { registerProjection } from './register.js';
import { CHECKPOINTS_CHANNEL } from './sql.js';

const PARTITIONS = 8;
const logger = createLogger({ service: 'batch-committer-test', level: 'silent' });
let db: TestDatabase;
let store: EventStore;
/** Shared transactions as the worker runs them: pg's pipeline mode. */
let pipelined: pg.Pool;
let byPartition: Map<number, RecordedEvent[]>;
let version = 0;
/** Every handler call: the partitions of its events. */
const calls: number[][] = [];

/**
 * One row per event (a second copy breaks the key), and a shared counter
 * row per `key` that every partition's batches increment in key order,
 * the way customer_stats does: what two committers must not deadlock on.
 */
const notes = defineProjection({
  name: 'notes',
  version: 1,
  pool: 'test',
  handles: ['Noted'],
  tables: ['notes', 'note_keys'],
  crossPartitionBatches: true,
  maxAttempts: 2,
  retryBackoffMs: 1,
  setup: (table) => `
CREATE TABLE IF NOT EXISTS ${table('notes')} (position bigint PRIMARY KEY, partition int NOT NULL);
CREATE TABLE IF NOT EXISTS ${table('note_keys')} (key int PRIMARY KEY, n int NOT NULL);`,
  applyBatch: async (events, ctx) => {
    calls.push(events.map((e) => e.partition));
    if (events.some((e) => (e.data as { poison?: boolean }).poison)) throw new Error('poison');
    await ctx.sql.query(
      `INSERT INTO ${ctx.table('notes')} (position, partition) SELECT * FROM unnest($1::bigint[], $2::int[])`,
      [events.map((e) => e.position), events.map((e) => e.partition)],
    );
    await ctx.sql.query(
      `INSERT INTO ${ctx.table('note_keys')} AS k (key, n)
       SELECT key, count(*) FROM unnest($1::int[]) AS key GROUP BY key ORDER BY key
       ON CONFLICT (key) DO UPDATE SET n = k.n + EXCLUDED.n`,
      [events.map((e) => (e.data as { key: number }).key)],
    );
  },
});

/** A position the `strict` projection's table refuses, in SQL: set before it is registered. */
let refused = 0;

/**
 * Writes one row per event like `notes`, but its table's CHECK refuses one
 * position: a failure inside the database, after the statements queued
 * behind it in a pipelined transaction were already sent.
 */
const strict = defineProjection({
  name: 'strict',
  version: 1,
  pool: 'test',
  handles: ['Noted'],
  tables: ['strict'],
  crossPartitionBatches: true,
  maxAttempts: 2,
  retryBackoffMs: 1,
  setup: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table('strict')} (position bigint PRIMARY KEY CHECK (position <> ${refused}));`,
  applyBatch: async (events, ctx) => {
    await ctx.sql.query(
      `INSERT INTO ${ctx.table('strict')} (position) SELECT unnest($1::bigint[])`,
      [events.map((e) => e.position)],
    );
  },
});

beforeAll(async () => {
  db = await createTestDatabase('batch-committer');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url, poolSize: 12 });
  pipelined = createPool({ connectionString: db.url, max: 4, pipeline: true });
  for (let i = 0; i < 40; i++) {
    for (let n = 0; n < 5; n++) {
      const data: Record<string, number | boolean> =
        i === 13 && n === 3 ? { key: n, poison: true } : { key: (i * 7 + n) % 5 };
      await store.append(`note-${i}`, [{ type: 'Noted', data }]);
    }
  }
  byPartition = new Map();
  for (const event of await store.readAll({ limit: 10_000 })) {
    byPartition.set(event.partition, [...(byPartition.get(event.partition) ?? []), event]);
  }
});

afterAll(async () => {
  await pipelined?.end();
  await store?.close();
  await db?.drop();
});

beforeEach(async () => {
  calls.length = 0;
  version += 1;
  await registerProjection(store.pool, notes, PARTITIONS, version);
});

const slotAt = (position = 0): Slot<typeof notes> => ({
  projection: notes,
  version,
  position,
  halted: false,
});
const poisonPartition = () =>
  [...byPartition].find(([, events]) =>
    events.some((e) => (e.data as { poison?: boolean }).poison),
  )![0];
const rows = async () =>
  (
    await store.pool.query<{ position: number }>(
      `SELECT position FROM projections.notes_v${version} ORDER BY position`,
    )
  ).rows.map((r) => r.position);
const checkpoints = async () =>
  (
    await store.pool.query<{ position: number }>(
      'SELECT position FROM refract.projection_checkpoints WHERE projection = $1 AND version = $2 ORDER BY partition',
      [notes.name, version],
    )
  ).rows.map((r) => r.position);
const lastOf = (partition: number) => byPartition.get(partition)!.at(-1)!.position;
const clean = () => [...byPartition.keys()].filter((p) => p !== poisonPartition());

describe.each([
  ['pipelined', () => pipelined],
  ['statement by statement', () => undefined],
])('shared transactions %s', (_name, sharedPool) => {
  const committerOf = (log: typeof logger) =>
    new BatchCommitter(store.pool, { log, sharedPool: sharedPool() });

  it('applies the batches that arrive while one commits in one shared transaction, each checkpoint to its own end, and notifies each', async () => {
    const committer = committerOf(logger);
    const listener = await store.pool.connect();
    const notices: string[] = [];
    listener.on('notification', (n) => notices.push(n.payload!));
    await listener.query(`LISTEN ${CHECKPOINTS_CHANNEL}`);
    try {
      const partitions = clean();
      const slots = new Map(partitions.map((p) => [p, slotAt()]));
      const outcomes = await Promise.all(
        partitions.map((p) =>
          committer.apply(slots.get(p)!, p, byPartition.get(p)!, lastOf(p), logger),
        ),
      );
      // The first went alone; all the others waited for it and went together.
      expect(calls.length).toBe(2);
      expect(new Set(calls[1])).toEqual(new Set(partitions.slice(1)));
      expect(outcomes.map((o) => o.applied)).toEqual(
        partitions.map((p) => byPartition.get(p)!.length),
      );
      const want = partitions.flatMap((p) => byPartition.get(p)!.map((e) => e.position));
      expect(await rows()).toEqual(want.sort((a, b) => a - b));
      const stand = await checkpoints();
      for (const p of partitions) {
        expect(stand[p]).toBe(lastOf(p));
        expect(slots.get(p)!.position).toBe(lastOf(p));
      }
      // Notifications arrive after the commit, on their own time.
      await eventually(() => {
        for (const p of partitions) expect(notices).toContain(`notes:${version}:${p}:${lastOf(p)}`);
      });
    } finally {
      listener.release();
    }
  });

  it('a moved checkpoint rolls the shared transaction back: only its own batch is refused, the others land once', async () => {
    const committer = committerOf(logger);
    const [moved, ...others] = clean();
    await store.pool.query(
      'UPDATE refract.projection_checkpoints SET position = 1 WHERE projection = $1 AND version = $2 AND partition = $3',
      [notes.name, version, moved],
    );
    // Hold the committer with a first batch so the rest share one transaction.
    const first = committer.apply(
      slotAt(),
      others[0]!,
      byPartition.get(others[0]!)!,
      lastOf(others[0]!),
      logger,
    );
    const results = await Promise.allSettled([
      committer.apply(slotAt(), moved!, byPartition.get(moved!)!, lastOf(moved!), logger),
      ...others
        .slice(1)
        .map((p) => committer.apply(slotAt(), p, byPartition.get(p)!, lastOf(p), logger)),
    ]);
    await first;
    expect(results[0]!.status).toBe('rejected');
    expect((results[0] as PromiseRejectedResult).reason).toBeInstanceOf(CheckpointMoved);
    expect(results.slice(1).every((r) => r.status === 'fulfilled')).toBe(true);
    const want = others.flatMap((p) => byPartition.get(p)!.map((e) => e.position));
    expect(await rows()).toEqual(want.sort((a, b) => a - b));
    expect((await checkpoints())[moved!]).toBe(1);
  });

  it('a poison event fails the shared transaction; it is parked, its stream quarantined behind it, and every other batch lands once', async () => {
    const committer = committerOf(logger);
    const all = [...byPartition.keys()];
    const outcomes = await Promise.all(
      all.map((p) => committer.apply(slotAt(), p, byPartition.get(p)!, lastOf(p), logger)),
    );
    const poison = byPartition
      .get(poisonPartition())!
      .find((e) => (e.data as { poison?: boolean }).poison)!;
    // note-13's last event comes after the poison: parked behind it, not applied.
    const behind = byPartition
      .get(poisonPartition())!
      .filter((e) => e.streamId === poison.streamId && e.position > poison.position);
    expect(behind).toHaveLength(1);
    expect(outcomes.reduce((n, o) => n + o.parked, 0)).toBe(2);
    const out = new Set([poison.position, ...behind.map((e) => e.position)]);
    const want = all
      .flatMap((p) => byPartition.get(p)!.map((e) => e.position))
      .filter((x) => !out.has(x));
    expect(await rows()).toEqual(want.sort((a, b) => a - b));
    expect(await checkpoints()).toEqual(all.sort((a, b) => a - b).map(lastOf));
    const parked = await store.pool.query(
      'SELECT position, behind, attempts FROM refract.parked_events_all WHERE projection = $1 AND version = $2 ORDER BY position',
      [notes.name, version],
    );
    expect(parked.rows).toEqual([
      { position: poison.position, behind: null, attempts: 2 },
      ...behind.map((e) => ({ position: e.position, behind: poison.position, attempts: 0 })),
    ]);
  });

  it('a partition with quarantined streams keeps sharing transactions: its held stream waits, a new poison is parked, the rest lands', async () => {
    const log = logger.child({});
    const warn = vi.spyOn(log, 'warn');
    const committer = committerOf(log);
    const all = [...byPartition.keys()];
    const slots = new Map(all.map((p) => [p, slotAt()]));
    await Promise.all(
      all.map((p) => committer.apply(slots.get(p)!, p, byPartition.get(p)!, lastOf(p), logger)),
    );
    const q = poisonPartition();
    expect(slots.get(q)!.quarantined).toBe(true);
    const poison = byPartition.get(q)!.find((e) => (e.data as { poison?: boolean }).poison)!;
    const other = byPartition.get(q)!.find((e) => e.streamId !== poison.streamId)!.streamId;
    // Round two: one more event in the quarantined stream (held), a new
    // poison in another stream of its partition, one more event elsewhere.
    const head = await store.headPosition();
    await store.append(poison.streamId, [{ type: 'Noted', data: { key: 1 } }]);
    await store.append(other, [{ type: 'Noted', data: { key: 2, poison: true } }]);
    const elsewhere = all.find((p) => p !== q)!;
    await store.append(byPartition.get(elsewhere)![0]!.streamId, [
      { type: 'Noted', data: { key: 3 } },
    ]);
    const added = await store.readAll({ after: head });
    expect(new Set(added.map((e) => e.partition))).toEqual(new Set([q, elsewhere]));
    const round = (p: number) => added.filter((e) => e.partition === p);
    warn.mockClear();
    const outcomes = await Promise.all(
      [q, elsewhere].map((p) =>
        committer.apply(slots.get(p)!, p, round(p), round(p).at(-1)!.position, logger),
      ),
    );
    // One shared transaction: none failed and went one by one.
    expect(warn.mock.calls.map((c) => c[1])).not.toContain(
      'shared batch transaction failed; applying its batches one by one',
    );
    expect(outcomes.map((o) => o.parked)).toEqual([2, 0]);
    const [held, poisoned] = round(q);
    const applied = new Set(await rows());
    expect(applied.has(round(elsewhere)[0]!.position)).toBe(true);
    expect([held!.position, poisoned!.position].filter((p) => applied.has(p))).toEqual([]);
    const parked = await store.pool.query(
      'SELECT position, behind, attempts FROM refract.parked_events_all WHERE projection = $1 AND version = $2 AND position > $3 ORDER BY position',
      [notes.name, version, head],
    );
    expect(parked.rows).toEqual([
      { position: held!.position, behind: poison.position, attempts: 0 },
      { position: poisoned!.position, behind: null, attempts: 2 },
    ]);
  });

  it('an empty batch of a quarantined partition keeps it quarantined: its held stream’s next event still waits', async () => {
    const committer = committerOf(logger);
    const all = [...byPartition.keys()];
    const slots = new Map(all.map((p) => [p, slotAt()]));
    await Promise.all(
      all.map((p) => committer.apply(slots.get(p)!, p, byPartition.get(p)!, lastOf(p), logger)),
    );
    const q = poisonPartition();
    const poison = byPartition.get(q)!.find((e) => (e.data as { poison?: boolean }).poison)!;
    // A page with nothing for q (the log moved on elsewhere) moves its checkpoint alone.
    const elsewhere = all.find((p) => p !== q)!;
    await store.append(byPartition.get(elsewhere)![0]!.streamId, [
      { type: 'Noted', data: { key: 4 } },
    ]);
    const through = await store.headPosition();
    await committer.apply(slots.get(q)!, q, [], through, logger);
    expect(slots.get(q)!.quarantined).toBe(true);
    await store.append(poison.streamId, [{ type: 'Noted', data: { key: 5 } }]);
    const [held] = await store.readAll({ after: through });
    expect(held!.partition).toBe(q);
    const outcome = await committer.apply(slots.get(q)!, q, [held!], held!.position, logger);
    expect(outcome).toMatchObject({ applied: 0, parked: 1 });
    expect((await rows()).includes(held!.position)).toBe(false);
  });

  it('two committers sharing rows across partitions, event by event, neither deadlock nor double anything', async () => {
    const log = logger.child({});
    const warned = vi.spyOn(log, 'warn');
    const a = committerOf(log);
    const b = committerOf(log);
    const partitions = clean();
    // Each partition's events one at a time, partitions split between the two
    // committers as between two workers: many small shared transactions that
    // all touch the same five key rows.
    await Promise.all(
      partitions.map(async (p, i) => {
        const committer = i % 2 === 0 ? a : b;
        const slot = slotAt();
        for (const event of byPartition.get(p)!) {
          await committer.apply(slot, p, [event], event.position, logger);
        }
      }),
    );
    const events = partitions.flatMap((p) => byPartition.get(p)!);
    expect(await rows()).toEqual(events.map((e) => e.position).sort((x, y) => x - y));
    const keys = await store.pool.query<{ key: number; n: number }>(
      `SELECT key, n FROM projections.note_keys_v${version} ORDER BY key`,
    );
    const want = new Map<number, number>();
    for (const e of events) {
      const { key } = e.data as { key: number };
      want.set(key, (want.get(key) ?? 0) + 1);
    }
    expect(new Map(keys.rows.map((r) => [r.key, r.n]))).toEqual(want);
    expect(calls.some((c) => new Set(c).size > 1)).toBe(true);
    // No shared transaction failed (a deadlock would have, after deadlock_timeout).
    expect(warned).not.toHaveBeenCalled();
  });

  it("prepares a batch transaction's statements once per connection, not per batch", async () => {
    // A handler sees its own session: what the committer prepared in it.
    const prepared: string[][] = [];
    const probe = defineProjection({
      name: 'probe',
      version: 1,
      pool: 'test',
      handles: ['Noted'],
      tables: ['probe'],
      crossPartitionBatches: true,
      setup: (table) => `CREATE TABLE IF NOT EXISTS ${table('probe')} (n int);`,
      applyBatch: async (_events, ctx) => {
        const result = await ctx.sql.query<{ name: string }>(
          'SELECT name FROM pg_prepared_statements ORDER BY name',
        );
        prepared.push(result.rows.map((row) => row.name));
      },
    });
    await registerProjection(store.pool, probe, PARTITIONS, version);
    const committer = committerOf(logger);
    const [partition] = clean();
    await committer.apply(
      { projection: probe, version, position: 0, halted: false },
      partition!,
      byPartition.get(partition!)!,
      lastOf(partition!),
      logger,
    );
    expect(prepared).toHaveLength(1);
    expect(prepared[0]).toContain('refract-advance-checkpoints');
  });

  it("a statement the database refuses aborts the shared transaction with the other projections' writes; each batch then lands once alone", async () => {
    const partitions = clean();
    // Not in the first batch, which goes alone: in the shared transaction after it.
    refused = byPartition.get(partitions[1]!)![1]!.position;
    await registerProjection(store.pool, strict, PARTITIONS, version);
    const committer = committerOf(logger);
    const strictSlots = new Map(
      partitions.map((p) => [p, { projection: strict, version, position: 0, halted: false }]),
    );
    const outcomes = await Promise.all(
      partitions.flatMap((p) => [
        committer.apply(slotAt(), p, byPartition.get(p)!, lastOf(p), logger),
        committer.apply(strictSlots.get(p)!, p, byPartition.get(p)!, lastOf(p), logger),
      ]),
    );
    const all = partitions.flatMap((p) => byPartition.get(p)!.map((e) => e.position));
    all.sort((a, b) => a - b);
    expect(await rows()).toEqual(all);
    const strictRows = await store.pool.query<{ position: number }>(
      `SELECT position FROM projections.strict_v${version} ORDER BY position`,
    );
    // The refused event's stream is quarantined: its later events are parked behind it.
    const refusedEvent = byPartition.get(partitions[1]!)![1]!;
    const behind = byPartition
      .get(partitions[1]!)!
      .filter((e) => e.streamId === refusedEvent.streamId && e.position > refused)
      .map((e) => e.position);
    expect(behind.length).toBeGreaterThan(0);
    const out = new Set([refused, ...behind]);
    expect(strictRows.rows.map((r) => r.position)).toEqual(all.filter((x) => !out.has(x)));
    expect(outcomes.reduce((n, o) => n + o.parked, 0)).toBe(out.size);
    const parked = await store.pool.query(
      'SELECT projection, position FROM refract.parked_events_all WHERE version = $1 ORDER BY position',
      [version],
    );
    expect(parked.rows).toEqual(
      [...out].sort((a, b) => a - b).map((position) => ({ projection: 'strict', position })),
    );
    const stand = await store.pool.query<{
      projection: string;
      partition: number;
      position: number;
    }>(
      'SELECT projection, partition, position FROM refract.projection_checkpoints WHERE version = $1 AND partition = ANY($2::int[])',
      [version, partitions],
    );
    expect(stand.rows).toHaveLength(partitions.length * 2);
    for (const row of stand.rows) expect(row.position).toBe(lastOf(row.partition));
    // No connection was left inside the aborted transaction.
    const pool = sharedPool() ?? store.pool;
    await Promise.all(Array.from({ length: pool.options.max }, () => pool.query('SELECT 1')));
  });
});
