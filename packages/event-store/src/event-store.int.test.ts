import { randomUUID } from 'node:crypto';
import {
  IdempotencyConflictError,
  InvalidInputError,
  type NewEvent,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@refract/core';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore } from './event-store.js';
import { migrate } from './migrate.js';

let db: TestDatabase;
let store: EventStore;

beforeAll(async () => {
  db = await createTestDatabase('event_store');
  await migrate({ databaseUrl: db.url, partitions: 8 });
  store = await EventStore.open({ databaseUrl: db.url });
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const event = (type = 'Something', data: Record<string, unknown> = { n: 1 }) => ({
  type,
  data: data as never,
});
const stream = () => `s-${randomUUID()}`;

describe('migrate', () => {
  it('is idempotent and queues concurrent runs instead of failing them', async () => {
    const results = await Promise.all([1, 2, 3].map(() => migrate({ databaseUrl: db.url })));
    for (const result of results) {
      expect(result.applied).toEqual([]);
      expect(result.partitions).toBe(8);
    }
  });

  it('refuses to change the partition count of an installed database', async () => {
    await expect(migrate({ databaseUrl: db.url, partitions: 16 })).rejects.toThrow(/8 partitions/);
  });
});

describe('append and read', () => {
  it('numbers versions from 0 and positions ascending with the versions', async () => {
    const id = stream();
    const first = await store.append(id, [event('A'), event('B'), event('C')]);
    expect(first.firstVersion).toBe(0);
    expect(first.lastVersion).toBe(2);
    expect(first.lastPosition - first.firstPosition).toBe(2);
    const second = await store.append(id, [event('D')], { expectedVersion: 2 });
    expect(second.firstVersion).toBe(3);
    expect(second.firstPosition).toBeGreaterThan(first.lastPosition);

    const slice = await store.readStream(id);
    expect(slice.version).toBe(3);
    expect(slice.events.map((e) => [e.type, e.version])).toEqual([
      ['A', 0],
      ['B', 1],
      ['C', 2],
      ['D', 3],
    ]);
    const positions = slice.events.map((e) => e.position);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(new Set(slice.events.map((e) => e.partition))).toEqual(new Set([store.partitionOf(id)]));

    const page = await store.readStream(id, { fromVersion: 1, limit: 2 });
    expect(page.events.map((e) => e.version)).toEqual([1, 2]);
  });

  it('answers 404-style for a stream that does not exist', async () => {
    await expect(store.readStream(stream())).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('honours every expectedVersion mode', async () => {
    const id = stream();
    await expect(
      store.append(id, [event()], { expectedVersion: 'stream_exists' }),
    ).rejects.toBeInstanceOf(WrongExpectedVersionError);
    await expect(store.append(id, [event()], { expectedVersion: 0 })).rejects.toMatchObject({
      code: 'wrong_expected_version',
      actual: -1,
    });
    // The refused appends left no trace: the stream still does not exist.
    await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);

    await store.append(id, [event()], { expectedVersion: 'no_stream' });
    await expect(
      store.append(id, [event()], { expectedVersion: 'no_stream' }),
    ).rejects.toMatchObject({ expected: 'no_stream', actual: 0 });
    await store.append(id, [event()], { expectedVersion: 'stream_exists' });
    await store.append(id, [event()], { expectedVersion: 1 });
    await store.append(id, [event()], { expectedVersion: 'any' });
    expect((await store.readStream(id)).version).toBe(3);
  });

  it('validates input and names the field', async () => {
    const id = stream();
    const cases: [() => Promise<unknown>, string][] = [
      [() => store.append(id, []), 'events'],
      [() => store.append(id, [{ type: '', data: {} }]), 'events.0.type'],
      [() => store.append(id, [{ type: 'A', data: [] as never }]), 'events.0.data'],
      [() => store.append(id, [{ type: 'A', data: {}, id: 'nope' }]), 'events.0.id'],
      [() => store.append('bad id', [event()]), 'streamId'],
      [() => store.append(id, [event()], { expectedVersion: -1 }), 'expectedVersion'],
      [() => store.append(id, [event()], { expectedVersion: 1.5 }), 'expectedVersion'],
      [() => store.append(id, [{ ...event(), schemaVersion: 0 }]), 'events.0.schemaVersion'],
      [() => store.append(id, [{ ...event(), schemaVersion: 2 ** 31 }]), 'events.0.schemaVersion'],
    ];
    for (const [call, field] of cases) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe(field);
    }
    await expect(store.readStream(id)).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('optimistic concurrency', () => {
  it('lets exactly one of 50 racing writers with the same expectedVersion win', async () => {
    const id = stream();
    await store.append(id, [event()]);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        store.append(id, [event('Raced', { writer: i })], { expectedVersion: 0 }),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(49);
    for (const r of lost) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(WrongExpectedVersionError);
    }
    const slice = await store.readStream(id);
    expect(slice.events.map((e) => e.version)).toEqual([0, 1]);
  });

  it('holds when the racers use separate event stores (separate transactions)', async () => {
    const id = stream();
    const stores = await Promise.all(
      [1, 2, 3, 4, 5].map(() => EventStore.open({ databaseUrl: db.url, poolSize: 4 })),
    );
    try {
      const results = await Promise.allSettled(
        stores.flatMap((s) =>
          Array.from({ length: 10 }, () =>
            s.append(id, [event()], { expectedVersion: 'no_stream' }),
          ),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect((await store.readStream(id)).events.map((e) => e.version)).toEqual([0]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe('idempotency', () => {
  it('returns the first result for a retry and stores nothing twice', async () => {
    const id = stream();
    const events: NewEvent[] = [
      { id: randomUUID(), type: 'A', data: { a: 1, b: [1, 2] } },
      { id: randomUUID(), type: 'B', data: { c: 'x' }, metadata: { by: 'me' } },
    ];
    const first = await store.append(id, events, { expectedVersion: 'no_stream' });
    expect(first.duplicate).toBe(false);
    // Same request again, even with its now-stale expectedVersion and keys in another order.
    const retry = await store.append(
      id,
      [
        { ...events[0]!, data: { b: [1, 2], a: 1 } },
        { ...events[1]!, id: events[1]!.id!.toUpperCase() },
      ],
      { expectedVersion: 'no_stream' },
    );
    expect(retry).toEqual({ ...first, duplicate: true });
    expect((await store.readStream(id)).events).toHaveLength(2);
  });

  it('refuses reused ids with different content', async () => {
    const id = stream();
    const eventId = randomUUID();
    await store.append(id, [{ id: eventId, type: 'A', data: { n: 1 } }]);
    await expect(
      store.append(id, [{ id: eventId, type: 'A', data: { n: 2 } }]),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
    await expect(
      store.append(id, [
        { id: eventId, type: 'A', data: { n: 1 } },
        { id: randomUUID(), type: 'A', data: { n: 3 } },
      ]),
    ).rejects.toBeInstanceOf(IdempotencyConflictError);
    expect((await store.readStream(id)).events).toHaveLength(1);
  });

  it('stores one copy when the same request races itself', async () => {
    const id = stream();
    const events = [{ id: randomUUID(), type: 'A', data: { n: 1 } }];
    const results = await Promise.all(Array.from({ length: 10 }, () => store.append(id, events)));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.firstPosition)).size).toBe(1);
    expect((await store.readStream(id)).events).toHaveLength(1);
  });

  it("stores one copy when a new stream's first append races itself from separate stores", async () => {
    // Separate transactions: each waits on the other's new stream row, and
    // the losers must find the winner's events, not skip the lookup as for a
    // stream that is new to them.
    const stores = await Promise.all(
      [1, 2, 3, 4].map(() => EventStore.open({ databaseUrl: db.url, poolSize: 2 })),
    );
    try {
      for (let round = 0; round < 5; round += 1) {
        const id = stream();
        const events = [{ id: randomUUID(), type: 'A', data: { n: round } }];
        const results = await Promise.all(stores.map((s) => s.append(id, events)));
        expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
        expect(new Set(results.map((r) => r.firstPosition)).size).toBe(1);
        expect((await store.readStream(id)).events.map((e) => e.version)).toEqual([0]);
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

/** A store committing one transaction at a time, recording each commit's (appends, events). */
async function openGrouped() {
  const commits: [number, number][] = [];
  const grouped = await EventStore.open({
    databaseUrl: db.url,
    maxConcurrentTransactions: 1,
    onCommit: (appends, events) => commits.push([appends, events]),
  });
  return { grouped, commits };
}

describe('group commit', () => {
  it('puts appends that queue up into one transaction, each answered on its own', async () => {
    const { grouped, commits } = await openGrouped();
    try {
      const shared = stream();
      await grouped.append(shared, [event()]);
      commits.length = 0;
      // Fired in one tick: the first starts a transaction, the other 49 queue behind it.
      const calls = Array.from({ length: 50 }, (_, i) =>
        i === 10
          ? grouped.append(shared, [event()], { expectedVersion: 7 }) // stale: refused alone
          : grouped.append(stream(), [event(), event()]),
      );
      const results = await Promise.allSettled(calls);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(49);
      expect((results[10] as PromiseRejectedResult).reason).toBeInstanceOf(
        WrongExpectedVersionError,
      );
      expect(commits).toEqual([
        [1, 2],
        [49, 96],
      ]);
      const positions = results
        .filter(
          (r): r is PromiseFulfilledResult<Awaited<(typeof calls)[0]>> => r.status === 'fulfilled',
        )
        .flatMap((r) => [r.value.firstPosition, r.value.lastPosition]);
      expect(new Set(positions).size).toBe(98);
      expect((await grouped.readStream(shared)).version).toBe(0);
    } finally {
      await grouped.close();
    }
  });

  it('applies queued appends to one stream in order, each checked after the one before', async () => {
    const grouped = await EventStore.open({ databaseUrl: db.url, maxConcurrentTransactions: 1 });
    try {
      const id = stream();
      const warm = grouped.append(stream(), [event()]);
      const a = grouped.append(id, [event('A')], { expectedVersion: 'no_stream' });
      const b = grouped.append(id, [event('B'), event('C')], { expectedVersion: 0 });
      await warm;
      const [ra, rb] = await Promise.all([a, b]);
      expect([ra.firstVersion, rb.firstVersion, rb.lastVersion]).toEqual([0, 1, 2]);
      expect(rb.firstPosition).toBeGreaterThan(ra.lastPosition);
    } finally {
      await grouped.close();
    }
  });

  it('notifies the events channel on commit', async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const notified = new Promise<string>((resolve) =>
        listener.on('notification', (n) => resolve(n.channel)),
      );
      await listener.query('LISTEN refract_events');
      await store.append(stream(), [event()]);
      await expect(notified).resolves.toBe('refract_events');
    } finally {
      await listener.end();
    }
  });

  it('refuses a schema version the column cannot hold before it joins a group', async () => {
    const { grouped, commits } = await openGrouped();
    try {
      // Fired in one tick: one bad append among 19 good ones.
      const calls = Array.from({ length: 20 }, (_, i) =>
        grouped.append(stream(), [{ ...event(), ...(i === 10 ? { schemaVersion: 2 ** 40 } : {}) }]),
      );
      const results = await Promise.allSettled(calls);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(19);
      const refused = (results[10] as PromiseRejectedResult).reason;
      expect(refused).toBeInstanceOf(InvalidInputError);
      expect((refused as InvalidInputError).field).toBe('events.0.schemaVersion');
      // The others committed as a group (the first alone, the 18 queued behind
      // it together), none retried alone after a failed group.
      expect(commits).toEqual([
        [1, 1],
        [18, 18],
      ]);
    } finally {
      await grouped.close();
    }
  });
});

describe('reads as of a time', () => {
  it('returns the stream as it was between two appends', async () => {
    const id = stream();
    await store.append(id, [event('First')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const between = new Date();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.append(id, [event('Second'), event('Third')]);

    const then = await store.readStream(id, { asOf: between });
    expect(then.version).toBe(0);
    expect(then.events.map((e) => e.type)).toEqual(['First']);
    const now = await store.readStream(id);
    expect(now.version).toBe(2);
    await expect(
      store.readStream(id, { asOf: new Date(Date.now() - 3_600_000) }),
    ).rejects.toBeInstanceOf(StreamNotFoundError);
  });
});

describe('readAll', () => {
  it('reads by position with partition and type filters', async () => {
    const ids = Array.from({ length: 20 }, stream);
    for (const id of ids) await store.append(id, [event('Keep'), event('Skip')]);
    const head = await store.headPosition();
    const all = await store.readAll({ after: 0, limit: 100_000 });
    expect(all.at(-1)!.position).toBe(head);
    const partition = store.partitionOf(ids[0]!);
    const some = await store.readAll({ partitions: [partition], types: ['Keep'], limit: 100_000 });
    expect(some.length).toBeGreaterThan(0);
    for (const e of some) {
      expect(e.partition).toBe(partition);
      expect(e.type).toBe('Keep');
    }
    const positions = some.map((e) => e.position);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    const bounded = await store.readAll({ after: all[2]!.position, upTo: all[5]!.position });
    expect(bounded.map((e) => e.position)).toEqual(all.slice(3, 6).map((e) => e.position));
  });
});
