import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore } from './event-store.js';
import { migrate } from './migrate.js';
import { SQL } from './sql.js';

// PL/pgSQL caches the plans of refract.append_one and append_batch for the life of a
// session. A session that starts on an empty, freshly vacuumed log (a new
// install, or the benchmark's reset) must not keep plans that scan whole
// tables: appends then slow down with every event stored. And it must keep
// them at all: planning the batch statement again on every call was half of
// what a one-event append cost. auto_explain shows the plans the function's
// statements actually ran with.

let db: TestDatabase;
const stores: EventStore[] = [];

beforeAll(async () => {
  db = await createTestDatabase('append_plans');
  await migrate({ databaseUrl: db.url, partitions: 4 });
});

afterAll(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await db?.drop();
});

/** A store on one session (every append runs in it) whose plans are collected. */
interface Watched {
  store: EventStore;
  plans: string[];
}

async function watchedStore(): Promise<Watched> {
  const store = await EventStore.open({
    databaseUrl: db.url,
    poolSize: 1,
    maxConcurrentTransactions: 1,
  });
  stores.push(store);
  const plans: string[] = [];
  const client = await store.pool.connect();
  client.on('notice', (notice) => plans.push(notice.message ?? ''));
  await client.query(`LOAD 'auto_explain'`);
  await client.query(`SET auto_explain.log_min_duration = 0`);
  await client.query(`SET auto_explain.log_nested_statements = on`);
  await client.query(`SET auto_explain.log_level = notice`);
  // Shows the functions' arguments: a plan made for one batch has its values
  // in it, a generic plan the parameters ($1).
  await client.query(`SET auto_explain.log_verbose = on`);
  client.release();
  return { store, plans };
}

const newEvent = (withId: boolean) => ({
  ...(withId ? { id: randomUUID() } : {}),
  type: 'Counted',
  data: { n: 1 },
});

/** A lone append through the store: the committer sends it to append_one. */
async function lone(
  { store }: Watched,
  streamId: string,
  events: ReturnType<typeof newEvent>[],
  expectedVersion?: number,
): Promise<void> {
  await store.append(streamId, events, expectedVersion === undefined ? {} : { expectedVersion });
}

/** The append in a batch with another (a fresh stream), straight to append_batch in the watched session. */
async function batched(
  { store }: Watched,
  streamId: string,
  events: ReturnType<typeof newEvent>[],
  expectedVersion?: number,
): Promise<void> {
  const other = newEvent(true);
  const all = [...events, other];
  await store.pool.query(SQL.appendBatch, [
    [streamId, `p-${randomUUID()}`],
    [0, 1],
    [expectedVersion ?? null, null],
    [events.length, 1],
    [events.some((event) => event.id), true],
    all.map((_, index) => (index < events.length ? 1 : 2)),
    all.map((_, index) => (index < events.length ? index : 0)),
    all.map((event) => event.id ?? randomUUID()),
    all.map((event) => event.type),
    all.map(() => 1),
    JSON.stringify(all.map((event) => event.data)),
    JSON.stringify(all.map(() => ({}))),
    'refract_events',
  ]);
}

describe.each([
  ['append_one', lone],
  ['append_batch', batched],
])('%s plans', (fn, append) => {
  it('look rows up by key even when first planned on an empty log', async () => {
    const watched = await watchedStore();
    const { store, plans } = watched;
    await store.pool.query('VACUUM ANALYZE refract.events, refract.streams');
    const streams = Array.from({ length: 40 }, () => `p-${randomUUID()}`);
    // Planned (and cached, generic plans included) while the log is empty.
    for (const id of streams.slice(0, 10)) await append(watched, id, [newEvent(true)]);
    // The log grows well past a page or two, in the same session.
    for (const id of streams) {
      await store.append(
        id,
        Array.from({ length: 50 }, () => newEvent(false)),
      );
    }
    plans.length = 0;
    await append(watched, streams[3]!, [newEvent(true)], 50);
    await append(watched, `p-${randomUUID()}`, [newEvent(true)]);

    const text = plans.join('\n');
    expect(text).toContain(`refract.${fn}(`);
    expect(text).toMatch(/refract\.streams|streams_pkey/);
    expect(text).toMatch(/events_stream_event_id_key/);
    expect(text).not.toMatch(/Seq Scan on (events|streams)\b/);
  });

  it('are planned once per session, not once per batch', async () => {
    const watched = await watchedStore();
    const { store, plans } = watched;
    // PL/pgSQL's own choice depends on estimates: on a small log a generic
    // plan looks as cheap and it takes one unasked; on a large one (100,000
    // streams) it planned every call. A session forcing custom plans stands
    // for the latter, deterministically.
    await store.pool.query('SET plan_cache_mode = force_custom_plan');
    // More calls than the custom plans PL/pgSQL makes before it weighs a generic one.
    for (let i = 0; i < 6; i += 1) await append(watched, `g-${randomUUID()}`, [newEvent(true)]);
    plans.length = 0;
    const streamId = `g-${randomUUID()}`;
    await append(watched, streamId, [newEvent(true)]);

    // The function's own statements, not the call of it (planned by the session's rules).
    const inside = plans.filter((plan) => !plan.includes(`refract.${fn}(`));
    expect(inside.length).toBeGreaterThanOrEqual(2);
    const text = inside.join('\n');
    expect(text).toMatch(fn === 'append_batch' ? /unnest\(\$1/ : /\$1\b/);
    // A plan made for this batch would hold its values.
    expect(text).not.toContain(streamId);
  });
});
