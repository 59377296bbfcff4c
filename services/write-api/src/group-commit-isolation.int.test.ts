import { randomUUID } from 'node:crypto';
import { defineApp } from '@refract/core';
import { EventStore, migrate } from '@refract/event-store';
import { createLogger, createMetrics } from '@refract/observability';
import { createTestDatabase, eventually, type TestDatabase } from '@refract/testing';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';

let db: TestDatabase;
let store: EventStore;
let app: FastifyInstance;
let sql: pg.Pool;
const commits: [number, number][] = [];
let appendCalls = 0;

beforeAll(async () => {
  db = await createTestDatabase('write_api_isolation');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  // One transaction at a time, so what queues behind it goes together into the next.
  store = await EventStore.open({
    databaseUrl: db.url,
    maxConcurrentTransactions: 1,
    onCommit: (appends, events) => commits.push([appends, events]),
  });
  // Counts the appends handed to the store: the signal that all have queued.
  const append = store.appendParsed.bind(store);
  store.appendParsed = ((...args: Parameters<typeof append>) => {
    appendCalls += 1;
    return append(...args);
  }) as typeof store.appendParsed;
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  const logger = createLogger({ service: 'write-api', level: 'silent' });
  app = buildApp({
    store,
    logger,
    metrics: createMetrics(),
    app: defineApp({ acceptUndeclaredEvents: true }),
  });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  await sql?.end();
  await db?.drop();
});

const post = (streamId: string, event: Record<string, unknown>) =>
  app.inject({
    method: 'POST',
    url: `/streams/${streamId}/events`,
    payload: JSON.stringify({ events: [event] }),
    headers: { 'content-type': 'application/json' },
  });

describe('no single bad append fails another client’s append in the same group commit', () => {
  it('20 concurrent HTTP appends, one with schemaVersion 2^40: 400 naming the field, nothing of it stored, the 19 others in one transaction', async () => {
    const blocker = `blocker-${randomUUID()}`;
    expect((await post(blocker, { type: 'A', data: {} })).statusCode).toBe(201);
    // Holds the committer's only transaction on a locked stream row while the 20 queue.
    const lock = await sql.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT 1 FROM refract.streams WHERE stream_id = $1 FOR UPDATE', [blocker]);
      const before = appendCalls;
      const held = post(blocker, { type: 'A', data: {} });
      await eventually(() => expect(appendCalls).toBe(before + 1));
      commits.length = 0;

      const streams = Array.from({ length: 20 }, () => `s-${randomUUID()}`);
      const responses = streams.map((id, i) =>
        post(id, { type: 'A', data: { i }, ...(i === 7 ? { schemaVersion: 2 ** 40 } : {}) }),
      );
      // The 19 good ones have reached the store, queued behind the held transaction.
      await eventually(() => expect(appendCalls).toBeGreaterThanOrEqual(before + 20));
      await lock.query('COMMIT');

      const refused = await responses[7]!;
      expect(refused.statusCode).toBe(400);
      expect(refused.json()).toMatchObject({
        error: 'invalid_request',
        field: 'events.0.schemaVersion',
      });
      expect((await held).statusCode).toBe(201);
      const answers = await Promise.all(responses);
      expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(19);
      expect(commits).toEqual([
        [1, 1],
        [19, 19],
      ]);
      const stored = await sql.query<{ stream_id: string }>(
        'SELECT stream_id FROM refract.events WHERE stream_id = ANY($1)',
        [streams],
      );
      expect(stored.rows.map((r) => r.stream_id).sort()).toEqual(
        streams.filter((_, i) => i !== 7).sort(),
      );
    } finally {
      await lock.query('ROLLBACK').catch(() => {});
      lock.release();
    }
  });
});
