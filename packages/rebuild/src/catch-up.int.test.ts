import { defineProjection } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import {
  auditProjection,
  CheckpointMoved,
  registerProjection,
  type Slot,
} from '@refract/projector';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { catchUpTogether, loadSlots } from './catch-up.js';

const PARTITIONS = 8;
const logger = createLogger({ service: 'catch-up-test', level: 'silent' });
let db: TestDatabase;
let store: EventStore;
let head = 0;
/** Every applyBatch call: its partition and its events' partitions. */
const calls: { partition: number; partitions: number[] }[] = [];
let version = 0;

/** One row per event, so a doubled or lost event shows; an event with `poison` fails its batch. */
const notes = defineProjection({
  name: 'notes',
  version: 1,
  pool: 'test',
  handles: ['Noted'],
  tables: ['notes'],
  maxAttempts: 1,
  retryBackoffMs: 1,
  onError: 'park',
  setup: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table('notes')} (position bigint PRIMARY KEY, partition int NOT NULL)`,
  applyBatch: async (events, ctx) => {
    calls.push({ partition: ctx.partition, partitions: events.map((e) => e.partition) });
    if (events.some((e) => (e.data as { poison?: boolean }).poison)) throw new Error('poison');
    await ctx.sql.query(
      `INSERT INTO ${ctx.table('notes')} (position, partition) SELECT * FROM unnest($1::bigint[], $2::int[])`,
      [events.map((e) => e.position), events.map((e) => e.partition)],
    );
  },
});

beforeAll(async () => {
  db = await createTestDatabase('catch-up');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  for (let i = 1; i <= 60; i++) {
    for (let n = 0; n < 4; n++) {
      const data: Record<string, number | boolean> =
        i === 17 && n === 2 ? { n, poison: true } : { n };
      const result = await store.append(`note-${i}`, [{ type: 'Noted', data }]);
      head = Math.max(head, result.lastPosition);
    }
  }
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

beforeEach(async () => {
  calls.length = 0;
  version += 1;
  await registerProjection(store.pool, notes, PARTITIONS, version);
});

const all = [...Array(PARTITIONS).keys()];
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
/** The completeness audit's applied count, summed over the partitions: kept by the pages' checkpoint moves. */
const appliedCount = async () =>
  Number(
    (
      await store.pool.query<{ n: string }>(
        'SELECT sum(applied_events) AS n FROM refract.projection_checkpoints WHERE projection = $1 AND version = $2',
        [notes.name, version],
      )
    ).rows[0]!.n,
  );
const positions = async () =>
  (
    await store.pool.query<{ position: number }>(
      'SELECT position FROM refract.events ORDER BY position',
    )
  ).rows.map((r) => r.position);
const poisonPosition = async () =>
  (
    await store.pool.query<{ position: number }>(
      "SELECT position FROM refract.events WHERE stream_id = 'note-17' AND version = 2",
    )
  ).rows[0]!.position;

it('brings every partition to its target in pages, each batch one partition, every event once; a poison event is parked through the per-partition path, with the later event of its stream behind it', async () => {
  const slots = await loadSlots(store, notes, version, all);
  const applied = await catchUpTogether({
    store,
    projection: notes,
    version,
    slots,
    targets: new Map(all.map((p) => [p, head])),
    batchSize: 50,
    log: logger,
  });
  const poison = await poisonPosition();
  // note-17's event after the poison waits parked behind it (its stream is quarantined).
  const behind = (
    await store.pool.query<{ position: number }>(
      "SELECT position FROM refract.events WHERE stream_id = 'note-17' AND position > $1 ORDER BY position",
      [poison],
    )
  ).rows.map((r) => r.position);
  expect(behind).toHaveLength(1);
  const out = new Set([poison, ...behind]);
  const want = (await positions()).filter((p) => !out.has(p));
  expect(await rows()).toEqual(want);
  expect(applied).toBe(want.length);
  expect(await checkpoints()).toEqual(all.map(() => head));
  expect([...slots.values()].map((s) => s.position)).toEqual(all.map(() => head));
  for (const call of calls) expect(new Set(call.partitions)).toEqual(new Set([call.partition]));
  const parked = await store.pool.query(
    'SELECT position, behind FROM refract.parked_events_all WHERE projection = $1 AND version = $2 ORDER BY position',
    [notes.name, version],
  );
  expect(parked.rows).toEqual([
    { position: poison, behind: null },
    ...behind.map((position) => ({ position, behind: poison })),
  ]);
  expect(await appliedCount()).toBe(want.length);
  expect(await auditProjection(store.pool, notes, { version })).toMatchObject({ complete: true });
});

it('stops each partition at its own target and resumes from where it stands', async () => {
  // Stay below the poison event: only the page holding it would fail.
  const poison = await poisonPosition();
  const targets = new Map(all.map((p) => [p, p % 2 === 0 ? Math.floor(poison / 3) : poison - 1]));
  // The case that matters: events of a partition lie between its own target
  // and the page's end (the furthest target).
  const between = await store.pool.query(
    'SELECT 1 FROM refract.events WHERE partition = 0 AND position > $1 AND position < $2',
    [targets.get(0), poison - 1],
  );
  expect(between.rowCount).toBeGreaterThan(0);
  const slots = await loadSlots(store, notes, version, all);
  await catchUpTogether({
    store,
    projection: notes,
    version,
    slots,
    targets,
    batchSize: 1000,
    log: logger,
  });
  expect(await checkpoints()).toEqual(all.map((p) => targets.get(p)!));
  const partitionOf = new Map(
    (
      await store.pool.query<{ position: number; partition: number }>(
        'SELECT position, partition FROM refract.events',
      )
    ).rows.map((r) => [r.position, r.partition]),
  );
  const want = [...partitionOf.keys()]
    .filter((position) => position <= targets.get(partitionOf.get(position)!)!)
    .sort((a, b) => a - b);
  expect(await rows()).toEqual(want);
  // One page, one transaction: no partition was applied in more than one batch.
  expect(calls.length).toBe(new Set(calls.map((c) => c.partition)).size);

  // Going on from there (as live workers do after a swap) adds each of the
  // remaining events once: the rows' primary key would refuse a second copy.
  const rest = new Map(all.map((p) => [p, poison - 1]));
  const applied = await catchUpTogether({
    store,
    projection: notes,
    version,
    slots,
    targets: rest,
    batchSize: 1000,
    log: logger,
  });
  const restWant = [...partitionOf.keys()].filter((position) => position < poison);
  expect(applied).toBe(restWant.length - want.length);
  expect(await rows()).toEqual(restWant.sort((a, b) => a - b));
  // Shared pages only: each partition's applied count moved with its checkpoint.
  expect(await appliedCount()).toBe(restWant.length);
  expect(await auditProjection(store.pool, notes, { version })).toMatchObject({ complete: true });
});

it('a checkpoint moved by someone else rolls the whole page back: nothing applied, no checkpoint moved', async () => {
  const slots = await loadSlots(store, notes, version, all);
  await store.pool.query(
    'UPDATE refract.projection_checkpoints SET position = 1 WHERE projection = $1 AND version = $2 AND partition = 3',
    [notes.name, version],
  );
  await expect(
    catchUpTogether({
      store,
      projection: notes,
      version,
      slots,
      targets: new Map(all.map((p) => [p, head])),
      batchSize: 1000,
      log: logger,
    }),
  ).rejects.toBeInstanceOf(CheckpointMoved);
  expect(await rows()).toEqual([]);
  expect(await checkpoints()).toEqual(all.map((p) => (p === 3 ? 1 : 0)));
});

it('keeps a stream quarantined across pages and after a resume: its later events are parked behind its head, never applied', async () => {
  const poison = await poisonPosition();
  const catchUp = (slots: Map<number, Slot>) =>
    catchUpTogether({
      store,
      projection: notes,
      version,
      slots,
      targets: new Map(all.map((p) => [p, head])),
      batchSize: 1000,
      log: logger,
    });
  const slots = await loadSlots(store, notes, version, all);
  await catchUp(slots);
  // A later page of the same run: note-17 gains an event the handler accepts.
  const later = (await store.append('note-17', [{ type: 'Noted', data: { n: 4 } }])).lastPosition;
  head = Math.max(head, later);
  await catchUp(slots);
  // A resumed run (the rebuild worker died): slots loaded afresh.
  const resumed = (await store.append('note-17', [{ type: 'Noted', data: { n: 5 } }])).lastPosition;
  head = Math.max(head, resumed);
  await catchUp(await loadSlots(store, notes, version, all));
  const applied = new Set(await rows());
  expect([poison, later, resumed].filter((p) => applied.has(p))).toEqual([]);
  const parked = await store.pool.query<{ position: number; behind: number | null }>(
    'SELECT position::int AS position, behind::int AS behind FROM refract.parked_events_all WHERE projection = $1 AND version = $2 AND position >= $3 ORDER BY position',
    [notes.name, version, later],
  );
  expect(parked.rows).toEqual([
    { position: later, behind: poison },
    { position: resumed, behind: poison },
  ]);
});
