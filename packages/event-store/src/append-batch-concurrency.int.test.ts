import { WrongExpectedVersionError } from '@refract/core';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EventStore } from './event-store.js';
import { migrate } from './migrate.js';

let db: TestDatabase;
let store: EventStore;
/** Appends per committed transaction: more than one means `append_batch` ran. */
const batchSizes: number[] = [];

beforeAll(async () => {
  db = await createTestDatabase('append_batch_occ');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  store = await EventStore.open({
    databaseUrl: db.url,
    onCommit: (appends) => batchSizes.push(appends),
  });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

it('optimistic concurrency in append_batch: racers with one expected version in shared group commits, exactly one wins and the rest of each batch lands', async () => {
  await store.append('race', [{ type: 'Opened', data: {} }], { expectedVersion: 'no_stream' });
  batchSizes.length = 0;
  // All sent at once: the first few go alone, the rest queue and are taken
  // in batches, each holding one racer beside bystanders of other streams.
  const racers: Promise<unknown>[] = [];
  const bystanders: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) {
    racers.push(store.append('race', [{ type: 'Raced', data: { i } }], { expectedVersion: 0 }));
    for (let j = 0; j < 3; j++) {
      bystanders.push(store.append(`bystander-${i}-${j}`, [{ type: 'Stood', data: { i, j } }]));
    }
  }
  const raced = await Promise.allSettled(racers);
  const stood = await Promise.allSettled(bystanders);
  // The racers did share append_batch calls with others.
  expect(Math.max(...batchSizes)).toBeGreaterThan(1);
  expect(raced.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  for (const r of raced.filter((r) => r.status === 'rejected')) {
    expect((r as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
  }
  expect(stood.every((r) => r.status === 'fulfilled')).toBe(true);
  const slice = await store.readStream('race');
  expect(slice.events.map((e) => e.version)).toEqual([0, 1]);
  const bystanderRows = await store.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM refract.events WHERE stream_id LIKE 'bystander-%'`,
  );
  expect(bystanderRows.rows[0]!.n).toBe(90);
});
