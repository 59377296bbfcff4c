import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore } from './event-store.js';
import { migrate } from './migrate.js';

// PL/pgSQL caches the plans of refract.append_batch for the life of a
// session. A session that starts on an empty, freshly vacuumed log (a new
// install, or the benchmark's reset) must not keep plans that scan whole
// tables: appends then slow down with every event stored. auto_explain shows
// the plans the function's statements actually ran with.

let db: TestDatabase;
let store: EventStore;
const plans: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('append_plans');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  // One session, so every append runs in the session whose plans are watched.
  store = await EventStore.open({ databaseUrl: db.url, poolSize: 1, maxConcurrentTransactions: 1 });
  await store.pool.query('VACUUM ANALYZE refract.events, refract.streams');
  const client = await store.pool.connect();
  client.on('notice', (notice) => plans.push(notice.message ?? ''));
  await client.query(`LOAD 'auto_explain'`);
  await client.query(`SET auto_explain.log_min_duration = 0`);
  await client.query(`SET auto_explain.log_nested_statements = on`);
  await client.query(`SET auto_explain.log_level = notice`);
  client.release();
});

afterAll(async () => {
  await store?.close();
  await db?.drop();
});

const newEvent = (withId: boolean) => ({
  ...(withId ? { id: randomUUID() } : {}),
  type: 'Counted',
  data: { n: 1 },
});

describe('append_batch plans', () => {
  it('look rows up by key even when first planned on an empty log', async () => {
    const streams = Array.from({ length: 40 }, () => `p-${randomUUID()}`);
    // Planned (and cached, generic plans included) while the log is empty.
    for (const id of streams.slice(0, 10)) await store.append(id, [newEvent(true)]);
    // The log grows well past a page or two, in the same session.
    for (const id of streams) {
      await store.append(
        id,
        Array.from({ length: 50 }, () => newEvent(false)),
      );
    }
    plans.length = 0;
    await store.append(streams[3]!, [newEvent(true)], { expectedVersion: 50 });
    await store.append(`p-${randomUUID()}`, [newEvent(true)]);

    const text = plans.join('\n');
    expect(text).toMatch(/refract\.streams|streams_pkey/);
    expect(text).toMatch(/events_stream_event_id_key/);
    expect(text).not.toMatch(/Seq Scan on (events|streams)\b/);
  });
});
