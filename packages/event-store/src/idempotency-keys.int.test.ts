import { randomUUID } from 'node:crypto';
import {
  ConcurrencyRetriesExhaustedError,
  type DomainEvent,
  defineDecider,
  IdempotencyKeyConflictError,
  InvalidInputError,
  RuleViolatedError,
} from '@refract/core';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandResult, handleCommand } from './aggregate.js';
import { EventStore } from './event-store.js';
import { requestHash } from './idempotency-keys.js';
import { migrate } from './migrate.js';

type Added = DomainEvent & { type: 'Added'; data: { sku: string } };
type Cart = { items: string[]; closed: boolean };
type CartCommand = { add?: string; close?: true; nothing?: true };

/** Not idempotent by itself: every `add` adds one more item. */
const cart = defineDecider<CartCommand, Added, Cart>({
  name: 'cart',
  initialState: () => ({ items: [], closed: false }),
  evolve: (state, event) =>
    event.type === 'Added'
      ? { ...state, items: [...state.items, event.data.sku] }
      : { ...state, closed: true },
  decide: (command, state) => {
    if (command.nothing) return [];
    if (state.closed) throw new RuleViolatedError('the cart is closed');
    if (command.close) return [{ type: 'Closed', data: {} } as unknown as Added];
    return [{ type: 'Added', data: { sku: command.add! } }];
  },
});

let db: TestDatabase;
let store: EventStore;
let sql: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('event_store_idempotency');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  store = await EventStore.open({ databaseUrl: db.url });
  sql = new pg.Pool({ connectionString: db.url, max: 3 });
});

afterAll(async () => {
  await store?.close();
  await sql?.end();
  await db?.drop();
});

const stream = () => `cart-${randomUUID()}`;
const key = () => `key-${randomUUID()}`;

function run(streamId: string, command: CartCommand, idempotencyKey?: string, request?: unknown) {
  return handleCommand(
    store,
    cart,
    streamId,
    command,
    idempotencyKey === undefined
      ? {}
      : { idempotency: { key: idempotencyKey, request: request ?? { type: 'Cart', command } } },
  );
}

async function eventTypes(streamId: string): Promise<string[]> {
  return (await store.readStreamEvents(streamId, 0, 1000)).map((event) => event.type);
}

async function storedKey(idempotencyKey: string) {
  const result = await sql.query(
    `SELECT stream_id, version::float8 AS version, position::float8 AS position,
            extract(epoch FROM expires_at - created_at)::float8 AS ttl
     FROM refract.idempotency_keys WHERE idempotency_key = $1`,
    [idempotencyKey],
  );
  return result.rows[0];
}

const firstResult = (result: CommandResult) => ({
  streamId: result.streamId,
  version: result.version,
  position: result.position,
});

describe('a keyed command', () => {
  it('runs once: a retry gets the first result and appends nothing', async () => {
    const id = stream();
    const k = key();
    const first = await run(id, { add: 'book' }, k);
    expect(first).toMatchObject({ streamId: id, version: 0, replayed: false });
    expect(first.events).toHaveLength(1);

    const again = await run(id, { add: 'book' }, k);
    expect(again).toEqual({ ...firstResult(first), events: [], replayed: true });
    expect(await eventTypes(id)).toEqual(['Added']);
    expect(await storedKey(k)).toMatchObject({
      stream_id: id,
      version: 0,
      position: first.position,
    });

    // Without a key the same command adds again: the key is what stopped it.
    await run(id, { add: 'book' });
    expect(await eventTypes(id)).toEqual(['Added', 'Added']);
  });

  it('keeps its result even after the stream moved on, and counts equal JSON as the same request', async () => {
    const id = stream();
    const k = key();
    const first = await run(id, { add: 'pen' }, k, { type: 'AddItem', body: { a: 1, b: [1, 2] } });
    await run(id, { add: 'other' });
    await run(id, { close: true });
    // Another key order and number spelling: the same JSON value.
    const again = await run(
      id,
      { add: 'pen' },
      k,
      JSON.parse('{"body":{"b":[1.0,2],"a":1},"type":"AddItem"}'),
    );
    expect(again).toMatchObject({ ...firstResult(first), replayed: true });
    expect(await eventTypes(id)).toEqual(['Added', 'Added', 'Closed']);
  });

  it('refuses the key for another request with idempotency_conflict, and writes nothing', async () => {
    const id = stream();
    const k = key();
    await run(id, { add: 'a' }, k, { type: 'AddItem', body: { sku: 'a' } });
    const other = [
      { type: 'AddItem', body: { sku: 'b' } },
      { type: 'RemoveItem', body: { sku: 'a' } },
      { type: 'AddItem', body: { sku: 'a', qty: 1 } },
    ];
    for (const request of other) {
      const error = await run(id, { add: 'a' }, k, request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IdempotencyKeyConflictError);
      expect(error).toMatchObject({ code: 'idempotency_conflict', details: { idempotencyKey: k } });
    }
    // The same key on another stream, for another request, too.
    const elsewhere = stream();
    await expect(run(elsewhere, { add: 'a' }, k, { other: true })).rejects.toBeInstanceOf(
      IdempotencyKeyConflictError,
    );
    expect(await eventTypes(id)).toEqual(['Added']);
    expect(await eventTypes(elsewhere)).toEqual([]);
  });

  it('stores a command that decided nothing, with no position', async () => {
    const id = stream();
    const k = key();
    const first = await run(id, { nothing: true }, k);
    expect(first).toMatchObject({ streamId: id, version: -1, position: null, replayed: false });
    expect(await run(id, { nothing: true }, k)).toMatchObject({
      version: -1,
      position: null,
      replayed: true,
    });
    expect(await storedKey(k)).toMatchObject({ version: -1, position: null });
  });

  it('refuses a key that is not 1 to 200 visible ASCII characters', async () => {
    for (const bad of ['', ' ', 'a b', 'é', 'tab\t', 'x'.repeat(201), '\u007f']) {
      const error = await run(stream(), { add: 'a' }, bad).catch((e: unknown) => e);
      expect(error, JSON.stringify(bad)).toBeInstanceOf(InvalidInputError);
      expect(error).toMatchObject({ field: 'idempotency.key' });
    }
    const longest = '!~'.repeat(100);
    expect((await run(stream(), { add: 'a' }, longest)).replayed).toBe(false);
  });

  it('refuses a request that is not JSON', async () => {
    await expect(run(stream(), { add: 'a' }, key(), { n: 10n })).rejects.toMatchObject({
      field: 'idempotency.request',
    });
    expect(() => requestHash(undefined)).toThrow(InvalidInputError);
  });
});

describe('a keyed command that fails stores no key', () => {
  it('when the decider refuses it: a retry runs it again', async () => {
    const id = stream();
    const k = key();
    await run(id, { close: true });
    await expect(run(id, { add: 'a' }, k)).rejects.toBeInstanceOf(RuleViolatedError);
    expect(await storedKey(k)).toBeUndefined();
    // Run again with the same key: decided again, refused again (not replayed, not a conflict).
    await expect(run(id, { add: 'a' }, k)).rejects.toBeInstanceOf(RuleViolatedError);
    // And on a stream where it can succeed, it now does.
    const open = await run(stream(), { add: 'a' }, k);
    expect(open.replayed).toBe(false);
  });

  it('when Postgres refuses its append: the key goes with the failed transaction', async () => {
    const id = stream();
    const eventId = randomUUID();
    await store.append(id, [{ id: eventId, type: 'Added', data: { sku: 'a' } }]);
    const k = key();
    // The same event id again fails append_one's insert, after the key was claimed.
    await expect(
      store.appendKeyed(
        id,
        [{ id: eventId, type: 'Added', data: { sku: 'b' } }],
        { expectedVersion: 0 },
        { key: k, hash: requestHash({ k }) },
      ),
    ).rejects.toThrow(/duplicate key/);
    expect(await storedKey(k)).toBeUndefined();
    expect(await eventTypes(id)).toEqual(['Added']);
  });

  it('when its expected version is wrong: nothing is written or kept', async () => {
    const id = stream();
    await run(id, { add: 'a' });
    const k = key();
    const outcome = await store.appendKeyed(
      id,
      [{ type: 'Added', data: { sku: 'b' } }],
      { expectedVersion: 5 },
      { key: k, hash: requestHash({ k }) },
    );
    expect(outcome).toEqual({ status: 'wrong_version', actual: 0 });
    expect(await storedKey(k)).toBeUndefined();
    expect(await eventTypes(id)).toEqual(['Added']);
  });

  it('when another writer wins every attempt; a duplicate waiting on the key then runs it', async () => {
    const id = stream();
    await run(id, { add: 'first' });
    const k = key();
    const request = { type: 'AddItem', body: { sku: 'mine' } };
    // Hold the stream's row with an append of our own, so the keyed append
    // claims its key and then waits; committing ours makes it a conflict.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT status FROM refract.append_one($1, $2, 0, false, ARRAY[$3::uuid], ARRAY['Added'],
           ARRAY[1], ARRAY['{"sku":"rival"}'::jsonb], ARRAY['{}'::jsonb], 'refract_events')`,
        [id, store.partitionOf(id), randomUUID()],
      );
      const once = handleCommand(
        store,
        cart,
        id,
        { add: 'mine' },
        {
          maxAttempts: 1,
          idempotency: { key: k, request },
        },
      ).catch((error: unknown) => error);
      await untilWaiting(1);
      // Its claim is not committed: a lookup finds nothing, a duplicate waits on the key.
      expect(await store.findIdempotencyKey(k)).toBeUndefined();
      const duplicate = run(id, { add: 'mine' }, k, request);
      await untilWaiting(2);
      await holder.query('COMMIT');

      expect(await once).toBeInstanceOf(ConcurrencyRetriesExhaustedError);
      // The failed attempt kept no key, so the duplicate claimed it and ran the command.
      expect(await duplicate).toMatchObject({ version: 2, replayed: false });
    } finally {
      await holder.end();
    }
    const skus = (await store.readStreamEvents(id, 0, 10)).map((event) => event.data.sku);
    expect(skus).toEqual(['first', 'rival', 'mine']);
    expect(await storedKey(k)).toMatchObject({ version: 2 });
  });
});

/** Waits until `count` keyed appends are blocked on a lock. */
async function untilWaiting(count: number): Promise<void> {
  await eventually(async () => {
    const waiting = await sql.query(
      `SELECT 1 FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock'
         AND query LIKE '%refract.append_keyed%'`,
    );
    expect(waiting.rowCount).toBe(count);
  });
}

describe('concurrent retries of one keyed command', () => {
  it('append once: 20 at once leave one item, all with the same result', async () => {
    const id = stream();
    await run(id, { add: 'seed' });
    const k = key();
    // Unkeyed appends to other streams at the same time must not be failed by the duplicates.
    const others = Array.from({ length: 20 }, () => stream());
    const [results, appends] = await Promise.all([
      Promise.all(Array.from({ length: 20 }, () => run(id, { add: 'book' }, k))),
      Promise.all(
        others.map((other) => store.append(other, [{ type: 'Added', data: { sku: 'x' } }])),
      ),
    ]);
    expect(await eventTypes(id)).toEqual(['Added', 'Added']);
    expect(new Set(results.map((r) => JSON.stringify(firstResult(r))))).toEqual(
      new Set([JSON.stringify({ streamId: id, version: 1, position: results[0]!.position })]),
    );
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(appends.every((a) => a.lastVersion === 0)).toBe(true);
  });
});

describe('concurrent retries of a keyed command that can run only once', () => {
  it('all get the first result: a duplicate that loads the first run’s events is not refused by them', async () => {
    const id = stream();
    await run(id, { add: 'seed' });
    const k = key();
    // Closing twice is refused; every retry of the one close must still succeed.
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, () => run(id, { close: true }, k)),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await eventTypes(id)).toEqual(['Added', 'Closed']);
    const fulfilled = results.map((r) => (r as PromiseFulfilledResult<CommandResult>).value);
    expect(new Set(fulfilled.map((r) => JSON.stringify(firstResult(r))))).toEqual(
      new Set([JSON.stringify({ streamId: id, version: 1, position: fulfilled[0]!.position })]),
    );
    expect(fulfilled.filter((r) => !r.replayed)).toHaveLength(1);
  });
});

describe('expiry', () => {
  it("keeps a key for the store's TTL, 24 hours unless told", async () => {
    const k = key();
    await run(stream(), { add: 'a' }, k);
    expect((await storedKey(k)).ttl).toBe(86_400);

    const short = await EventStore.open({ databaseUrl: db.url, idempotencyKeyTtlSeconds: 90 });
    try {
      const k2 = key();
      await handleCommand(
        short,
        cart,
        stream(),
        { add: 'a' },
        { idempotency: { key: k2, request: 1 } },
      );
      expect((await storedKey(k2)).ttl).toBe(90);
    } finally {
      await short.close();
    }
    for (const bad of [0, -1, Number.NaN]) {
      await expect(
        EventStore.open({ databaseUrl: db.url, idempotencyKeyTtlSeconds: bad }),
      ).rejects.toMatchObject({ field: 'idempotencyKeyTtlSeconds' });
    }
  });

  it('treats an expired key as absent: the command runs again and the key holds the new result', async () => {
    const id = stream();
    const k = key();
    const first = await run(id, { add: 'a' }, k);
    await expire(k);
    expect(await store.findIdempotencyKey(k)).toBeUndefined();
    const second = await run(id, { add: 'a' }, k);
    expect(second).toMatchObject({ version: first.version + 1, replayed: false });
    expect(await eventTypes(id)).toEqual(['Added', 'Added']);
    expect(await run(id, { add: 'a' }, k)).toMatchObject({
      ...firstResult(second),
      replayed: true,
    });
    // An expired key is free for another request too.
    await expire(k);
    expect((await run(id, { add: 'b' }, k, { other: 1 })).replayed).toBe(false);
  });

  it('deletes expired keys a bounded number at a time, and never a live one', async () => {
    await sql.query('DELETE FROM refract.idempotency_keys WHERE expires_at <= now()');
    const expired = [key(), key(), key()];
    const live = key();
    // Written directly: a keyed command could start a background sweep of its own.
    for (const k of [...expired, live]) {
      await sql.query(
        `INSERT INTO refract.idempotency_keys
           (idempotency_key, request_hash, stream_id, version, position, expires_at)
         VALUES ($1, $2, 's', 0, 1, now() + interval '1 hour')`,
        [k, requestHash(k)],
      );
    }
    for (const k of expired) await expire(k);
    expect(await store.deleteExpiredIdempotencyKeys(2)).toBe(2);
    expect(await store.deleteExpiredIdempotencyKeys(2)).toBe(1);
    expect(await store.deleteExpiredIdempotencyKeys(2)).toBe(0);
    for (const k of expired) expect(await storedKey(k)).toBeUndefined();
    expect(await storedKey(live)).toBeDefined();
  });

  it('sweeps expired keys in the background after a keyed command', async () => {
    const old = key();
    await run(stream(), { add: 'a' }, old);
    await expire(old);
    const sweeps: unknown[] = [];
    // A fresh store has not swept yet: its first keyed command starts one.
    const fresh = await EventStore.open({
      databaseUrl: db.url,
      onIdempotencyKeySweep: (outcome) => sweeps.push(outcome),
    });
    try {
      // An unkeyed command does not sweep.
      await handleCommand(fresh, cart, stream(), { add: 'a' });
      expect(await storedKey(old)).toBeDefined();
      await handleCommand(
        fresh,
        cart,
        stream(),
        { add: 'a' },
        { idempotency: { key: key(), request: 1 } },
      );
      await eventually(() => expect(sweeps).toHaveLength(1));
      expect(sweeps[0]).toMatchObject({ deleted: expect.any(Number) });
      expect(await storedKey(old)).toBeUndefined();
    } finally {
      await fresh.close();
    }
  });
});

/** Sets a key's expiry into the past, as if its TTL had run out. */
async function expire(idempotencyKey: string): Promise<void> {
  await sql.query(
    `UPDATE refract.idempotency_keys
     SET created_at = created_at - interval '2 days', expires_at = now() - interval '1 second'
     WHERE idempotency_key = $1`,
    [idempotencyKey],
  );
}
