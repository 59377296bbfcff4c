import { randomUUID } from 'node:crypto';
import { DependencyUnavailableError, InvalidInputError } from '@refract/core';
import { createPool, EventStore, migrate } from '@refract/event-store';
import { CHECKPOINTS_CHANNEL as PROJECTOR_CHANNEL, registerProjection } from '@refract/projector';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointWatcher,
  type CheckpointWatcherOptions,
  createCheckpointWatcher,
  type WaitReport,
} from './checkpoint-watcher.js';
import { NotCaughtUpError, WatcherClosedError } from './errors.js';
import { countQueries, moveCheckpoints, testProjection } from './fixtures/test-projection.js';
import { CHECKPOINTS_CHANNEL } from './sql.js';

const PARTITIONS = 4;
const PROJECTION = 'notes';

const notes = testProjection(PROJECTION);

let db: TestDatabase;
let store: EventStore;
/** The watchers' pool. */
let pool: pg.Pool;
/** The simulated worker's pool. */
let workerPool: pg.Pool;

interface Watched {
  watcher: CheckpointWatcher;
  rechecks: () => number;
  reports: WaitReport[];
}

const opened: CheckpointWatcher[] = [];

async function watch(options: Partial<CheckpointWatcherOptions> = {}): Promise<Watched> {
  let rechecks = 0;
  const reports: WaitReport[] = [];
  const watcher = await createCheckpointWatcher({
    pool,
    // Woken by notifications only, unless a test asks for the safety re-check.
    recheckMs: 3_600_000,
    applicationName: 'ryw-test-listen',
    onRecheck: () => {
      rechecks += 1;
    },
    onWait: (report) => reports.push(report),
    ...options,
  });
  opened.push(watcher);
  return { watcher, rechecks: () => rechecks, reports };
}

let main: Watched;

beforeAll(async () => {
  db = await createTestDatabase('read_your_writes');
  await migrate({ databaseUrl: db.url, partitions: PARTITIONS });
  store = await EventStore.open({ databaseUrl: db.url });
  pool = createPool({ connectionString: db.url, max: 6 });
  workerPool = createPool({ connectionString: db.url, max: 2 });
  await registerProjection(workerPool, notes, PARTITIONS);
  main = await watch();
});

afterAll(async () => {
  for (const watcher of opened) await watcher.close();
  await store?.close();
  await pool?.end();
  await workerPool?.end();
  await db?.drop();
});

/** The worker, simulated (every partition unless told otherwise). */
function work(options: { partitions?: number[]; notify?: boolean } = {}): Promise<void> {
  return moveCheckpoints(workerPool, PROJECTION, {
    partitions: options.partitions ?? [...Array(PARTITIONS).keys()],
    notify: options.notify,
  });
}

/** A stream id in the given partition. */
function streamIn(partition: number): string {
  for (;;) {
    const streamId = `note-${randomUUID().slice(0, 8)}`;
    if (store.partitionOf(streamId) === partition) return streamId;
  }
}

/** Appends one event; returns its position. */
async function append(streamId: string): Promise<number> {
  return (await store.append(streamId, [{ type: 'Noted', data: { streamId } }])).lastPosition;
}

/** Appends to a new stream of the partition and waits for it (up to 10 s) once that wait is pending. */
async function startWaiting(watcher: CheckpointWatcher, partition: number) {
  const streamId = streamIn(partition);
  const position = await append(streamId);
  const before = watcher.pendingWaits;
  const waiting = watcher.waitForPosition(PROJECTION, { streamId, position, timeoutMs: 10_000 });
  await eventually(() => expect(watcher.pendingWaits).toBe(before + 1));
  return { position, waiting };
}

describe('waitForPosition', () => {
  it('resolves at once when the checkpoint is already there', async () => {
    const streamId = streamIn(0);
    const position = await append(streamId);
    await work();
    const before = main.reports.length;
    await expect(
      main.watcher.waitForPosition(PROJECTION, { streamId, position, timeoutMs: 0 }),
    ).resolves.toEqual({ woken: 'immediate' });
    expect(main.reports.slice(before)).toEqual([
      { projection: PROJECTION, outcome: 'immediate', seconds: expect.any(Number) },
    ]);
  });

  it('waits for nothing at position 0', async () => {
    await expect(
      main.watcher.waitForPosition('not_even_registered', { position: 0, timeoutMs: 0 }),
    ).resolves.toEqual({ woken: 'immediate' });
  });

  it('is woken by the checkpoint notification, after the commit, without a re-check', async () => {
    const streamId = streamIn(1);
    const position = await append(streamId);
    const rechecks = main.rechecks();
    let answeredAt = 0;
    const waiting = main.watcher
      .waitForPosition(PROJECTION, { streamId, position, timeoutMs: 10_000 })
      .then((result) => {
        answeredAt = Date.now();
        return result;
      });
    await eventually(() => expect(main.watcher.pendingWaits).toBe(1));
    expect(answeredAt).toBe(0);

    const committedBefore = Date.now();
    await work();
    await expect(waiting).resolves.toEqual({ woken: 'notification' });
    expect(answeredAt).toBeGreaterThanOrEqual(committedBefore);
    expect(main.rechecks()).toBe(rechecks);
    expect(main.reports.at(-1)).toMatchObject({ outcome: 'notification' });
  });

  it('does not wait on other streams: the target is the stream’s own last event', async () => {
    const streamId = streamIn(0);
    await append(streamId);
    await work({ partitions: [0] });
    // A later position of another partition, still unapplied, does not hold this wait.
    const later = await append(streamIn(1));
    await expect(
      main.watcher.waitForPosition(PROJECTION, { streamId, position: later, timeoutMs: 0 }),
    ).resolves.toEqual({ woken: 'immediate' });
    await work();
  });

  it('rejects with NotCaughtUpError at the timeout, naming what is pending', async () => {
    const streamId = streamIn(2);
    const position = await append(streamId);
    const started = Date.now();
    const error = await main.watcher
      .waitForPosition(PROJECTION, { streamId, position, timeoutMs: 300 })
      .catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(NotCaughtUpError);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(2000);
    expect((error as NotCaughtUpError).message).toBe(
      `${PROJECTION} has not applied every event of ${streamId} up to position ${position} within 300 ms`,
    );
    expect((error as NotCaughtUpError).statusCode).toBe(504);
    expect((error as NotCaughtUpError).details).toEqual({
      projection: PROJECTION,
      minPosition: position,
      timeoutMs: 300,
      pending: [{ partition: 2, target: position, checkpoint: expect.any(Number) }],
    });
    expect(main.watcher.pendingWaits).toBe(0);
    expect(main.reports.at(-1)).toMatchObject({ outcome: 'timeout' });

    await expect(
      main.watcher.waitForPosition(PROJECTION, { streamId, position, timeoutMs: 0 }),
    ).rejects.toBeInstanceOf(NotCaughtUpError);
    await work();
    await expect(
      main.watcher.waitForPosition(PROJECTION, { streamId, position, timeoutMs: 0 }),
    ).resolves.toEqual({ woken: 'immediate' });
  });

  it('resolves at once for a stream without events up to the position', async () => {
    await expect(
      main.watcher.waitForPosition(PROJECTION, {
        streamId: 'note-ghost',
        position: 1,
        timeoutMs: 0,
      }),
    ).resolves.toEqual({ woken: 'immediate' });
  });

  it('without a stream, waits for every partition', async () => {
    const signal = streamIn(3);
    const signalPosition = await append(signal);
    // Later in the log, in another partition: only once partition 1 has
    // applied it is everything up to `later` applied.
    const later = await append(streamIn(1));
    let settled = false;
    const waiting = main.watcher
      .waitForPosition(PROJECTION, { position: later, timeoutMs: 10_000 })
      .finally(() => {
        settled = true;
      });
    const signalled = main.watcher.waitForPosition(PROJECTION, {
      streamId: signal,
      position: signalPosition,
      timeoutMs: 10_000,
    });
    await eventually(() => expect(main.watcher.pendingWaits).toBe(2));
    const rechecks = main.rechecks();
    await work({ partitions: [0, 2, 3] });
    // Partition 3's notification came last: the others have been seen too.
    await expect(signalled).resolves.toEqual({ woken: 'notification' });
    expect(settled).toBe(false);
    await work({ partitions: [1] });
    await expect(waiting).resolves.toEqual({ woken: 'notification' });
    expect(main.rechecks()).toBe(rechecks);
  });

  it('does not wait for partitions without events up to the position', async () => {
    await work();
    const head = await pool.query<{ head: number }>(
      'SELECT max(position) AS head FROM refract.events',
    );
    await expect(
      main.watcher.waitForPosition(PROJECTION, { position: head.rows[0]!.head, timeoutMs: 0 }),
    ).resolves.toEqual({ woken: 'immediate' });
  });

  it('rejects a position beyond the head of the log, which has not happened yet', async () => {
    const error = await main.watcher
      .waitForPosition(PROJECTION, { position: 999_999_999, timeoutMs: 100 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotCaughtUpError);
    expect((error as NotCaughtUpError).message).toBe(
      "position 999999999 is beyond the log's head after 100 ms",
    );
    expect((error as NotCaughtUpError).details).toEqual({
      projection: PROJECTION,
      minPosition: 999_999_999,
      timeoutMs: 100,
    });
    expect(main.watcher.pendingWaits).toBe(0);
  });

  it('waits for a position beyond the head on append notifications, without polling', async () => {
    // A pool of its own, to count the watcher's queries.
    const counted = createPool({ connectionString: db.url, max: 2 });
    const queries = countQueries(counted);
    // Each safety re-check reads the head once; their timer is the test's clock.
    const { watcher, rechecks } = await watch({
      pool: counted,
      partitions: PARTITIONS,
      recheckMs: 150,
    });
    try {
      await work();
      const streamId = streamIn(3);
      const next = (await append(streamId)) + 2;
      await work();
      const waiting = watcher.waitForPosition(PROJECTION, {
        streamId,
        position: next,
        timeoutMs: 20_000,
      });
      // The head read at the start, and one once the append channel is listened to.
      await eventually(() => expect(queries()).toBe(2 + rechecks()));
      // One read of the head per append.
      await append(streamIn(0));
      await eventually(() => expect(queries()).toBe(3 + rechecks()));
      // Time for any polling to show: nothing else has read.
      const seen = rechecks();
      await eventually(() => expect(rechecks()).toBeGreaterThanOrEqual(seen + 3));
      expect(queries()).toBe(3 + rechecks());
      expect(watcher.pendingWaits).toBe(1);

      await append(streamId);
      await work();
      await expect(waiting).resolves.toEqual({
        woken: expect.stringMatching(/^(notification|recheck)$/),
      });
    } finally {
      await watcher.close();
      await counted.end();
    }
  });

  it('refuses a bad position or timeout', async () => {
    for (const [options, field] of [
      [{ position: -1, timeoutMs: 0 }, 'position'],
      [{ position: 1.5, timeoutMs: 0 }, 'position'],
      [{ position: 1, timeoutMs: -1 }, 'timeoutMs'],
      [{ position: 1, timeoutMs: Number.NaN }, 'timeoutMs'],
    ] as const) {
      const error = await main.watcher.waitForPosition(PROJECTION, options).catch((e) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).details).toEqual({ field });
    }
  });

  it('refuses to wait on a projection that is not registered', async () => {
    const position = await append(streamIn(0));
    await expect(
      main.watcher.waitForPosition('no_such_projection', { position, timeoutMs: 100 }),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(
      main.watcher.waitFor('no_such_projection', [{ partition: 0, position: 1 }], 100),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    await work();
  });
});

describe('the LISTEN connection', () => {
  it('still ends a wait when a notification is lost, by the safety re-check', async () => {
    const { watcher, rechecks, reports } = await watch({ recheckMs: 200 });
    try {
      const { waiting } = await startWaiting(watcher, 0);
      await work({ notify: false });
      await expect(waiting).resolves.toEqual({ woken: 'recheck' });
      expect(rechecks()).toBeGreaterThan(0);
      expect(reports).toEqual([
        { projection: PROJECTION, outcome: 'recheck', seconds: expect.any(Number) },
      ]);
    } finally {
      await watcher.close();
    }
  });

  it('reconnects and is woken by notifications again', async () => {
    const { watcher, rechecks } = await watch({ applicationName: 'ryw-test-reconnect' });
    try {
      expect(watcher.isListening).toBe(true);
      await pool.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'ryw-test-reconnect' AND datname = current_database()`,
      );
      await eventually(() => expect(watcher.isListening).toBe(false));
      await eventually(() => expect(watcher.isListening).toBe(true), { timeoutMs: 10_000 });

      const { waiting } = await startWaiting(watcher, 1);
      const before = rechecks();
      await work();
      await expect(waiting).resolves.toEqual({ woken: 'notification' });
      expect(rechecks()).toBe(before);
    } finally {
      await watcher.close();
    }
  });

  it('follows a swap of the live version while a request waits', async () => {
    const { watcher } = await watch({ recheckMs: 200 });
    try {
      const { position, waiting } = await startWaiting(watcher, 2);
      // A rebuild finished version 2 past the position and swapped to it.
      await registerProjection(workerPool, notes, PARTITIONS, 2);
      await workerPool.query(
        `UPDATE refract.projection_checkpoints SET position = $1
         WHERE projection = $2 AND version = 2 AND partition = 2`,
        [position, PROJECTION],
      );
      await workerPool.query('UPDATE refract.projections SET live_version = 2 WHERE name = $1', [
        PROJECTION,
      ]);
      await expect(waiting).resolves.toEqual({ woken: 'recheck' });
    } finally {
      await workerPool.query('UPDATE refract.projections SET live_version = 1 WHERE name = $1', [
        PROJECTION,
      ]);
      await watcher.close();
    }
  });

  it('listens on the channel the projector runtime notifies on', () => {
    expect(CHECKPOINTS_CHANNEL).toBe(PROJECTOR_CHANNEL);
  });
});

describe('closing', () => {
  it('rejects waiting and later waits with WatcherClosedError', async () => {
    const { watcher, reports } = await watch();
    const streamId = streamIn(3);
    const position = await append(streamId);
    const waiting = watcher
      .waitForPosition(PROJECTION, { streamId, position, timeoutMs: 30_000 })
      .catch((e: unknown) => e);
    const beyond = watcher
      .waitForPosition(PROJECTION, { position: 999_999_999, timeoutMs: 30_000 })
      .catch((e: unknown) => e);
    await eventually(() => expect(watcher.pendingWaits).toBe(2));
    await watcher.close();
    expect(await waiting).toBeInstanceOf(WatcherClosedError);
    expect(await beyond).toBeInstanceOf(WatcherClosedError);
    expect(((await waiting) as WatcherClosedError).statusCode).toBe(503);
    expect(reports.map((r) => r.outcome).sort()).toEqual(['closed', 'closed']);
    await expect(
      watcher.waitForPosition(PROJECTION, { streamId, position, timeoutMs: 0 }),
    ).rejects.toBeInstanceOf(WatcherClosedError);
    expect(watcher.isListening).toBe(false);
    await watcher.close();
    await work();
  });
});

describe('createCheckpointWatcher', () => {
  it('opens a pool of its own from a databaseUrl, reads the partition count, and closes it', async () => {
    const watcher = await createCheckpointWatcher({ databaseUrl: db.url });
    expect(watcher.partitions).toBe(PARTITIONS);
    expect(watcher.isListening).toBe(true);
    const streamId = streamIn(0);
    const position = await append(streamId);
    await work();
    await expect(
      watcher.waitForPosition(PROJECTION, { streamId, position, timeoutMs: 1000 }),
    ).resolves.toEqual({ woken: 'immediate' });
    await watcher.close();
    await expect(
      watcher.waitForPosition(PROJECTION, { streamId, position, timeoutMs: 0 }),
    ).rejects.toBeInstanceOf(WatcherClosedError);
  });

  it('needs a pool or a databaseUrl', () => {
    expect(() => new CheckpointWatcher({})).toThrow(/a pool or a databaseUrl/);
  });

  it('fails on a database that is not migrated', async () => {
    const empty = await createTestDatabase('read_your_writes_empty');
    try {
      await expect(createCheckpointWatcher({ databaseUrl: empty.url })).rejects.toThrow(/migrate/);
    } finally {
      await empty.drop();
    }
  });
});
