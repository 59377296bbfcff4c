import { RuleViolatedError } from '@refract/core';
import { EventStore, handleCommand, loadState, migrate } from '@refract/event-store';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orderStreamId } from './events.js';
import { orderDecider } from './order-decider.js';

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase('aggregate');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  store = await EventStore.open({ databaseUrl: db.url });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const place = (orderId: string) => ({
  type: 'PlaceOrder' as const,
  orderId,
  customerId: 'customer-1',
  placedAt: '2026-01-01T00:00:00.000Z',
});
const addItem = (orderId: string, n: number) => ({
  type: 'AddItem' as const,
  orderId,
  sku: `sku-${n}`,
  qty: 1,
  unitPrice: '1.25',
});

describe('loading state through a decider', () => {
  it('reads the snapshot and only the events after it', async () => {
    const streamId = orderStreamId('big');
    await handleCommand(store, orderDecider, streamId, place('big'));
    for (let i = 1; i < 500; i++) {
      await handleCommand(store, orderDecider, streamId, addItem('big', i));
    }
    const loaded = await loadState(store, orderDecider, streamId);
    expect(loaded.version).toBe(499);
    expect(loaded.state).toMatchObject({ status: 'placed', itemCount: 499, totalCents: 499 * 125 });
    expect(loaded.snapshotVersion).not.toBeNull();
    expect(loaded.snapshotVersion).toBeGreaterThanOrEqual(499 - orderDecider.snapshotEvery);
    expect(loaded.eventsRead).toBe(499 - loaded.snapshotVersion!);
    expect(loaded.eventsRead).toBeLessThan(orderDecider.snapshotEvery);
  });

  it('ignores a snapshot of another state shape and folds from scratch', async () => {
    const streamId = orderStreamId('reshaped');
    await handleCommand(store, orderDecider, streamId, place('reshaped'));
    for (let i = 1; i < 120; i++) {
      await handleCommand(store, orderDecider, streamId, addItem('reshaped', i));
    }
    const reshaped = { ...orderDecider, snapshotVersion: orderDecider.snapshotVersion + 1 };
    const loaded = await loadState(store, reshaped, streamId);
    expect(loaded.snapshotVersion).toBeNull();
    expect(loaded.eventsRead).toBe(120);
    expect(loaded.state).toMatchObject({ itemCount: 119 });
  });
});

describe('handling commands', () => {
  it('refuses a broken rule and stores nothing', async () => {
    const streamId = orderStreamId('refused');
    await expect(
      handleCommand(store, orderDecider, streamId, addItem('refused', 1)),
    ).rejects.toBeInstanceOf(RuleViolatedError);
    expect(await store.readStreamEvents(streamId, 0, 10)).toEqual([]);
  });

  it('retries a conflict so that two valid commands on one order both land', async () => {
    const streamId = orderStreamId('busy');
    await handleCommand(store, orderDecider, streamId, place('busy'));
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        handleCommand(store, orderDecider, streamId, addItem('busy', i)),
      ),
    );
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const events = await store.readStreamEvents(streamId, 0, 100);
    expect(events.map((e) => e.type)).toEqual(['OrderPlaced', ...Array(8).fill('ItemAdded')]);
  });
});
