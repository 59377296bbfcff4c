import { randomUUID } from 'node:crypto';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { registerProjection } from '@refract/projector';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCheckpointWatcher } from './checkpoint-watcher.js';
import { countQueries, moveCheckpoints, testProjection } from './fixtures/test-projection.js';

const PARTITIONS = 4;
const PROJECTION = 'notes';
const WAITERS = 200;

let db: TestDatabase;
let store: EventStore;
let workerPool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('ryw_shared_watcher');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  workerPool = createPool({ connectionString: db.url, max: 2 });
  await registerProjection(workerPool, testProjection(PROJECTION), PARTITIONS);
});

afterAll(async () => {
  await store?.close();
  await workerPool?.end();
  await db?.drop();
});

describe('waiters share one watcher', () => {
  it(`${WAITERS} concurrent minPosition waits cost O(1) queries per tick, not one per waiter`, async () => {
    const pool = createPool({ connectionString: db.url, max: 4 });
    const queries = countQueries(pool);
    let rechecks = 0;
    const watcher = await createCheckpointWatcher({
      pool,
      partitions: PARTITIONS,
      // The shared safety re-check is the only poll; its ticks are the test's clock.
      recheckMs: 100,
      onRecheck: () => {
        rechecks += 1;
      },
    });
    try {
      const targets = await Promise.all(
        Array.from({ length: WAITERS }, async () => {
          const streamId = `note-${randomUUID()}`;
          const { lastPosition } = await store.append(streamId, [
            { type: 'Noted', data: { streamId } },
          ]);
          return { streamId, position: lastPosition };
        }),
      );
      const waits = targets.map((target) =>
        watcher.waitForPosition(PROJECTION, { ...target, timeoutMs: 10_000 }),
      );
      await eventually(() => expect(watcher.pendingWaits).toBe(WAITERS));

      // Nothing moves the checkpoints: every tick from here is a pure poll.
      const [q0, r0] = [queries(), rechecks];
      await eventually(() => expect(rechecks).toBeGreaterThanOrEqual(r0 + 5));
      const ticks = rechecks - r0;
      const perTick = (queries() - q0) / ticks;
      // One read of the waited projections' checkpoints (and of the head, if
      // awaited) per tick, whatever the number of waiters.
      expect(perTick).toBeLessThanOrEqual(2);
      expect(watcher.pendingWaits).toBe(WAITERS);

      // Checkpoints move without a notification: the shared poll wakes them all.
      await moveCheckpoints(workerPool, PROJECTION, {
        partitions: [...Array(PARTITIONS).keys()],
        notify: false,
      });
      const outcomes = await Promise.all(waits);
      expect(outcomes.every((o) => o.woken === 'recheck')).toBe(true);
    } finally {
      await watcher.close();
      await pool.end();
    }
  });
});
