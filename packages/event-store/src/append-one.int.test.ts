import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from './migrate.js';
import { SQL } from './sql.js';

// A batch of one append goes to refract.append_one, every other batch to
// refract.append_batch. Both must give the same verdict, write the same
// rows and draw the same positions for the same append on the same history.
// Each case runs the history and then the append in two fresh streams, once
// through each function, and compares what came out.

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('append_one');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

interface TestEvent {
  id: string;
  type: string;
  data: string;
}

interface Append {
  /** null = any, -1 = no_stream, -2 = stream_exists, n = exactly n. */
  expected: number | null;
  check: boolean;
  events: TestEvent[];
}

const newEvent = (type = 'Counted'): TestEvent => ({
  id: randomUUID(),
  type,
  data: JSON.stringify({ n: Math.floor(Math.random() * 1000) }),
});

const CHANNEL = 'refract_append_one_test';

/** The per-event arguments both functions take: ids, types, schema versions, data, metadata (JSON arrays). */
const eventColumns = (events: TestEvent[]) => [
  events.map((event) => event.id),
  events.map((event) => event.type),
  events.map(() => 1),
  `[${events.map((event) => event.data).join(',')}]`,
  `[${events.map(() => '{}').join(',')}]`,
];

async function viaOne(stream: string, append: Append) {
  const { events } = append;
  return pool.query(SQL.appendOne, [
    stream,
    1,
    append.expected,
    append.check,
    ...eventColumns(events),
    CHANNEL,
  ]);
}

async function viaBatch(stream: string, append: Append) {
  const { events } = append;
  return pool.query(SQL.appendBatch, [
    [stream],
    [1],
    [append.expected],
    [events.length],
    [append.check],
    events.map(() => 1),
    events.map((_, offset) => offset),
    ...eventColumns(events),
    CHANNEL,
  ]);
}

/**
 * Runs the history (through append_batch, the same for both) and then the
 * append through `call` in a fresh stream. Positions are counted from the
 * sequence's value before the history, so the two runs compare.
 */
async function outcome(
  history: Append[],
  append: Append,
  call: typeof viaOne,
): Promise<{ result: unknown; stream: unknown; events: unknown }> {
  const stream = `one-${randomUUID()}`;
  const sequence = await pool.query<{ last: string }>(
    `SELECT last_value + (CASE WHEN is_called THEN 0 ELSE -1 END) AS last FROM refract.events_position_seq`,
  );
  const base = Number(sequence.rows[0]!.last);
  const at = (position: unknown) => (position === null ? null : Number(position) - base);
  for (const earlier of history) await viaBatch(stream, earlier);
  let result: unknown;
  try {
    const rows = (await call(stream, append)).rows;
    result = rows.map((row) => ({
      ...row,
      actual: Number(row.actual),
      first_version: row.first_version === null ? null : Number(row.first_version),
      last_version: row.last_version === null ? null : Number(row.last_version),
      first_position: at(row.first_position),
      last_position: at(row.last_position),
    }));
  } catch (error) {
    result = { error: (error as { code?: string }).code };
  }
  const streamRow = await pool.query(
    'SELECT version::int, partition FROM refract.streams WHERE stream_id = $1',
    [stream],
  );
  const events = await pool.query<{ position: string; version: string; event_id: string }>(
    `SELECT position, version::int, event_id, type, data::text FROM refract.events
     WHERE stream_id = $1 ORDER BY position`,
    [stream],
  );
  return {
    result,
    stream: streamRow.rows,
    events: events.rows.map((row) => ({ ...row, position: at(row.position) })),
  };
}

const h1 = { expected: -1, check: false, events: [newEvent('A'), newEvent('B')] };
const h2 = { expected: 1, check: true, events: [newEvent('C')] };
const fresh = (expected: number | null, check = false, count = 2): Append => ({
  expected,
  check,
  events: Array.from({ length: count }, () => newEvent()),
});

/** Name, history, append, and the verdict both must give (or the error code). */
const cases: [string, Append[], Append, string][] = [
  ['a new stream, any version', [], fresh(null), 'written'],
  ['a new stream, no_stream', [], fresh(-1, true, 3), 'written'],
  ['a new stream, stream_exists', [], fresh(-2), 'wrong_version'],
  ['a new stream, an exact version', [], fresh(0, true), 'wrong_version'],
  ['a stream, any version', [h1], fresh(null, true), 'written'],
  ['a stream, no_stream', [h1], fresh(-1), 'wrong_version'],
  ['a stream, stream_exists', [h1], fresh(-2, false, 1), 'written'],
  ['a stream, its version', [h1], fresh(1, true), 'written'],
  ['a stream, an older version', [h1], fresh(0), 'wrong_version'],
  ['a stream, a later version', [h1], fresh(5, true), 'wrong_version'],
  ['a retry of the last append', [h1], { ...h1, check: true }, 'duplicate'],
  ['a retry of an earlier append', [h1, h2], { ...h1, check: true }, 'duplicate'],
  ['a retry with any version', [h1, h2], { ...h2, expected: null }, 'duplicate'],
  [
    'an id reused for another event',
    [h1],
    { expected: null, check: true, events: [{ ...h1.events[0]!, data: '{"n":-1}' }] },
    'conflict',
  ],
  [
    'part of an append stored',
    [h1],
    { expected: null, check: true, events: [h1.events[1]!, newEvent()] },
    'conflict',
  ],
  ['stored ids not looked for', [h1], { ...h1, check: false, expected: null }, '23505'],
];

describe('append_one', () => {
  it.each(cases)('answers and writes as append_batch: %s', async (_, history, append, verdict) => {
    const one = await outcome(history, append, viaOne);
    const batch = await outcome(history, append, viaBatch);
    expect(one).toEqual(batch);
    const result = one.result as { status: string }[] | { error: string };
    expect(Array.isArray(result) ? result.map((row) => row.status) : result.error).toEqual(
      Array.isArray(result) ? [verdict] : verdict,
    );
  });

  it('notifies the relay only when it wrote', async () => {
    const listener = await pool.connect();
    const heard: string[] = [];
    listener.on('notification', (message) => heard.push(message.channel));
    await listener.query(`LISTEN ${CHANNEL}`);
    try {
      const stream = `one-${randomUUID()}`;
      await viaOne(stream, fresh(5));
      await viaOne(stream, fresh(-2));
      await pool.query('SELECT 1');
      expect(heard).toEqual([]);
      await viaOne(stream, fresh(-1));
      await expect.poll(() => heard).toEqual([CHANNEL]);
    } finally {
      await listener.query(`UNLISTEN ${CHANNEL}`);
      listener.release();
    }
  });
});
