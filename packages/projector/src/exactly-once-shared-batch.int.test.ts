import { defineProjection, type RecordedEvent } from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { createLogger } from '@refract/observability';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Slot } from './apply.js';
import { BatchCommitter } from './batch-committer.js';
import { CheckpointMoved } from './commit-with-checkpoints.js';
import { registerProjection } from './register.js';

const PARTITIONS = 8;
const logger = createLogger({ service: 'exactly-once-shared-test', level: 'silent' });
let db: TestDatabase;
let store: EventStore;
let pipelined: pg.Pool;
/** The partitions of each handler call's events. */
const calls: number[][] = [];

/**
 * Counts events per stream by incrementing, and shares transactions across
 * partitions as both example projections do: an event applied twice shows
 * as a count above the fold.
 */
const counting = defineProjection({
  name: 'shared_tally',
  version: 1,
  pool: 'test',
  handles: ['Counted'],
  tables: ['shared_tally'],
  crossPartitionBatches: true,
  setup: (table) =>
    `CREATE TABLE IF NOT EXISTS ${table('shared_tally')} (stream_id text PRIMARY KEY, count int NOT NULL)`,
  applyBatch: async (events, ctx) => {
    calls.push(events.map((e) => e.partition));
    await ctx.sql.query(
      `INSERT INTO ${ctx.table('shared_tally')} AS t (stream_id, count)
       SELECT stream_id, count(*) FROM unnest($1::text[]) AS stream_id GROUP BY stream_id ORDER BY stream_id
       ON CONFLICT (stream_id) DO UPDATE SET count = t.count + EXCLUDED.count`,
      [events.map((e) => e.streamId)],
    );
  },
});

beforeAll(async () => {
  db = await createTestDatabase('exactly_once_shared');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  // Shared transactions as the worker runs them: pg's pipeline mode.
  pipelined = createPool({ connectionString: db.url, max: 4, pipeline: true });
  for (let i = 0; i < 40; i++) {
    await store.append(`tally-${i}`, [
      { type: 'Counted', data: {} },
      { type: 'Counted', data: {} },
    ]);
  }
  await registerProjection(store.pool, counting, PARTITIONS);
});

afterAll(async () => {
  await pipelined?.end();
  await store?.close();
  await db?.drop();
});

/**
 * Every partition's batch through one worker's committer, each slot as its
 * runner believes it stands: the first batch goes alone and holds the
 * committer, the others queue behind it and share one transaction.
 */
async function applyAll(byPartition: Map<number, RecordedEvent[]>) {
  const committer = new BatchCommitter(store.pool, { log: logger, sharedPool: pipelined });
  const partitions = [...byPartition.keys()];
  const slot = (): Slot<typeof counting> => ({
    projection: counting,
    version: 1,
    position: 0,
    halted: false,
  });
  const first = committer.apply(
    slot(),
    partitions[0]!,
    byPartition.get(partitions[0]!)!,
    byPartition.get(partitions[0]!)!.at(-1)!.position,
    logger,
  );
  const rest = partitions
    .slice(1)
    .map((p) =>
      committer.apply(slot(), p, byPartition.get(p)!, byPartition.get(p)!.at(-1)!.position, logger),
    );
  return Promise.allSettled([first, ...rest]);
}

it('exactly-once on the shared batch path: a zombie committing a cross-partition batch is refused, and the read model equals the fold', async () => {
  const byPartition = new Map<number, RecordedEvent[]>();
  for (const event of await store.readAll({ limit: 10_000 })) {
    byPartition.set(event.partition, [...(byPartition.get(event.partition) ?? []), event]);
  }
  expect(byPartition.size).toBeGreaterThan(2);

  // The live owner applies every partition.
  const live = await applyAll(byPartition);
  expect(live.every((r) => r.status === 'fulfilled')).toBe(true);

  // A zombie (its leases lost, its runners still at checkpoint 0) commits
  // the same batches on the same shared path.
  calls.length = 0;
  const zombie = await applyAll(byPartition);
  // Its handler did run on a shared, cross-partition transaction...
  expect(calls.some((partitions) => new Set(partitions).size > 1)).toBe(true);
  // ...yet nothing was applied twice: the read model is the fold...
  const got = await store.pool.query<{ stream_id: string; count: number }>(
    'SELECT stream_id, count FROM projections.shared_tally ORDER BY stream_id',
  );
  const fold = await store.pool.query<{ stream_id: string; count: number }>(
    `SELECT stream_id, count(*)::int AS count FROM refract.events
     WHERE type = 'Counted' GROUP BY stream_id ORDER BY stream_id`,
  );
  expect(got.rows).toEqual(fold.rows);
  // ...because every one of its batches was refused.
  for (const result of zombie) {
    expect(result.status).toBe('rejected');
    expect((result as PromiseRejectedResult).reason).toBeInstanceOf(CheckpointMoved);
  }
});
