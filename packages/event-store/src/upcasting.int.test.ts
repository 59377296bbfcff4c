import { type DomainEvent, defineDecider, UpcasterRegistry } from '@refract/core';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { handleCommand, loadState } from './aggregate.js';
import { EventStore } from './event-store.js';
import { migrate } from './migrate.js';

/** v1 stored `{ amount: '1.50' }`; v2 is `{ amountCents: 150 }`. */
const upcasters = new UpcasterRegistry().register({
  type: 'Deposited',
  fromVersion: 1,
  upcast: (data) => ({ amountCents: Math.round(Number(data.amount) * 100) }),
});

type Deposited = DomainEvent & { type: 'Deposited'; data: { amountCents: number } };

/** Sums cents; a v1 payload would make the sum NaN, so it cannot pass unnoticed. */
const account = defineDecider<{ deposit: number }, Deposited, { cents: number }>({
  name: 'account',
  snapshotEvery: 1000,
  initialState: () => ({ cents: 0 }),
  evolve: (state, event) => ({ cents: state.cents + event.data.amountCents }),
  decide: (command) => [{ type: 'Deposited', data: { amountCents: command.deposit } }],
});

let db: TestDatabase;
let store: EventStore;
const stream = 'acct-1';

beforeAll(async () => {
  db = await createTestDatabase('event_store_upcasting');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  // Written before v2 existed: a store without upcasters stamps schema version 1.
  const before = await EventStore.open({ databaseUrl: db.url });
  try {
    await before.append(stream, [
      { type: 'Deposited', data: { amount: '1.50' } },
      { type: 'Deposited', data: { amount: '2.25' } },
    ]);
  } finally {
    await before.close();
  }
  store = await EventStore.open({ databaseUrl: db.url, upcasters });
  // A late v1 writer after v2 is declared, then a current one.
  await store.append(stream, [{ type: 'Deposited', data: { amount: '0.10' }, schemaVersion: 1 }]);
  await store.append(stream, [{ type: 'Deposited', data: { amountCents: 500 } }]);
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const CURRENT = [150, 225, 10, 500].map((amountCents) => ({ amountCents }));

it('stores what was written, with the schema version it was written in', async () => {
  const rows = await store.pool.query<{ schema_version: number; data: unknown }>(
    'SELECT schema_version, data FROM refract.events ORDER BY position',
  );
  expect(rows.rows.map((r) => r.schema_version)).toEqual([1, 1, 1, 2]);
  expect(rows.rows[0]!.data).toEqual({ amount: '1.50' });
});

it('stream reads, position reads and stream pages return the current shape', async () => {
  const slice = await store.readStream(stream);
  expect(slice.events.map((e) => e.data)).toEqual(CURRENT);
  expect(slice.events.every((e) => e.schemaVersion === 2)).toBe(true);
  const all = await store.readAll({ types: ['Deposited'] });
  expect(all.map((e) => e.data)).toEqual(CURRENT);
  const page = await store.readStreamEvents(stream, 1, 2);
  expect(page.map((e) => e.data)).toEqual(CURRENT.slice(1, 3));
});

it('an aggregate load folds old events in their current shape, and commands decide on it', async () => {
  const loaded = await loadState(store, account, stream);
  expect(loaded).toMatchObject({ state: { cents: 885 }, version: 3, eventsRead: 4 });
  const result = await handleCommand(store, account, stream, { deposit: 15 });
  expect(result.version).toBe(4);
  expect((await loadState(store, account, stream)).state).toEqual({ cents: 900 });
});
