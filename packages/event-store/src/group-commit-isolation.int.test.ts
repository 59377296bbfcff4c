import { randomUUID } from 'node:crypto';
import { InvalidInputError, StreamNotFoundError } from '@refract/core';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore } from './event-store.js';
import { migrate } from './migrate.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('group_commit_isolation');
  await migrate({ databaseUrl: db.url, partitions: 4 });
});

afterAll(async () => {
  await db?.drop();
});

const stream = () => `s-${randomUUID()}`;

/** Nested objects `depth` levels deep. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 0; i < depth; i++) value = { next: value };
  return value;
}

/**
 * Each way one append could make the shared `append_batch` call fail in
 * Postgres (22003 out of range, 22P05 U+0000 in jsonb, 22P02 bad JSON text,
 * 54001 stack depth), with the field its 400 must name (or start with, for
 * the deep one, whose path names the level where nesting stops).
 */
const badEvents: { name: string; event: Record<string, unknown>; field: string }[] = [
  {
    name: 'a schemaVersion beyond the integer column',
    event: { type: 'Bad', data: {}, schemaVersion: 2 ** 40 },
    field: 'events.0.schemaVersion',
  },
  {
    name: 'U+0000 in a data string',
    event: { type: 'Bad', data: { note: 'a\u0000b' } },
    field: 'events.0.data.note',
  },
  {
    name: 'a lone surrogate in a metadata string',
    event: { type: 'Bad', data: {}, metadata: { who: '\ud800' } },
    field: 'events.0.metadata.who',
  },
  {
    name: 'U+0000 in a data key',
    event: { type: 'Bad', data: { 'k\u0000': 1 } },
    field: 'events.0.data',
  },
  {
    name: 'data nested deeper than jsonb takes',
    event: { type: 'Bad', data: nested(10_000) },
    field: 'events.0.data',
  },
  {
    name: 'a type the column refuses',
    event: { type: 'x'.repeat(10_000), data: {} },
    field: 'events.0.type',
  },
];

describe('no single bad append fails another client’s append in the same group commit', () => {
  for (const bad of badEvents) {
    it(`20 appends in one group, one with ${bad.name}: 19 commit together, the bad one gets a 400 naming ${bad.field}`, async () => {
      const commits: [number, number][] = [];
      // One transaction at a time: the first append starts one, and the 19
      // fired in the same tick queue up and go into the next one together.
      const store = await EventStore.open({
        databaseUrl: db.url,
        maxConcurrentTransactions: 1,
        onCommit: (appends, events) => commits.push([appends, events]),
      });
      try {
        const warm = store.append(stream(), [{ type: 'Warm', data: {} }]);
        const streams = Array.from({ length: 20 }, stream);
        const calls = streams.map((id, i) =>
          store.append(id, [(i === 7 ? bad.event : { type: 'Good', data: { i } }) as never]),
        );
        // Settled handlers attach now: the bad append is refused before `warm` commits.
        const settled = Promise.allSettled(calls);
        await warm;
        const results = await settled;

        const refused = results[7]!;
        expect(refused.status).toBe('rejected');
        const reason = (refused as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(InvalidInputError);
        expect((reason as InvalidInputError).field.startsWith(bad.field)).toBe(true);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(19);
        // The 19 shared one transaction: no failed group, no retries alone.
        expect(commits).toEqual([
          [1, 1],
          [19, 19],
        ]);
        await expect(store.readStream(streams[7]!)).rejects.toBeInstanceOf(StreamNotFoundError);
        const stored = await Promise.all(
          streams.filter((_, i) => i !== 7).map((id) => store.readStream(id)),
        );
        expect(stored.map((s) => s.events.length)).toEqual(Array(19).fill(1));
      } finally {
        await store.close();
      }
    });
  }
});
