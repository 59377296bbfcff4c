import { createPool, migrate } from '@refract/event-store';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQL } from './sql.js';

/** Open parked events of one projection version: a poison flood's quarantines. */
const OPEN = 20_000;
const HEAD = OPEN / 2;
let db: TestDatabase;
let pool: pg.Pool;

interface PlanNode {
  'Relation Name'?: string;
  Alias?: string;
  'Index Name'?: string;
  'Shared Hit Blocks': number;
  'Shared Read Blocks': number;
  Plans?: PlanNode[];
}

function findScans(node: PlanNode, alias: string, into: PlanNode[] = []): PlanNode[] {
  if (node.Alias === alias && node['Relation Name'] === 'parked_events') into.push(node);
  for (const child of node.Plans ?? []) findScans(child, alias, into);
  return into;
}

beforeAll(async () => {
  db = await createTestDatabase('park-events-plan');
  await migrate({ databaseUrl: db.url, partitions: 4 });
  pool = createPool({ connectionString: db.url, max: 1 });
  // The bench's state: statistics taken while the table was empty, then a
  // flood's rows, before autovacuum (off here, so it stays that way) looks.
  await pool.query('ALTER TABLE refract.parked_events SET (autovacuum_enabled = false)');
  await pool.query('ANALYZE refract.parked_events');
  await pool.query(
    `INSERT INTO refract.parked_events
       (projection, version, partition, position, stream_id, event_type, error, attempts)
     SELECT 'flood', 1, 0, i, 'order-' || i, 'ItemAdded', 'bad unitPrice', 2
     FROM generate_series(1, $1::int) AS i`,
    [OPEN],
  );
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/**
 * Runs park-events.sql for one event held behind the open row at HEAD, in a
 * transaction rolled back after `prepare`, and returns the buffers its
 * lookup of that row read.
 */
async function lookUpBlocks(prepare: string[]): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const statement of prepare) await client.query(statement);
    const held = OPEN + 1;
    const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${SQL.parkEvents}`,
      ['flood', 1, [], [], [], [], [], [], [`order-${HEAD}`], [held], [0], [HEAD], [1]],
    );
    const { rows } = await client.query<{ held: string[] }>(
      `SELECT held FROM refract.parked_events WHERE projection = 'flood' AND position = $1`,
      [HEAD],
    );
    expect(rows[0]?.held.map(Number)).toEqual([held]);
    const lookups = findScans(explained.rows[0]!['QUERY PLAN'][0].Plan, 'q');
    expect(lookups).toHaveLength(1);
    return lookups[0]!['Shared Hit Blocks'] + lookups[0]!['Shared Read Blocks'];
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

// A key lookup reads an index path and a heap page; the version's open rows
// span well over a hundred index pages.
const KEY_LOOKUP_BLOCKS = 10;

describe('park-events.sql', () => {
  it("finds a held stream's open row by key", async () => {
    expect(await lookUpBlocks([])).toBeLessThan(KEY_LOOKUP_BLOCKS);
  });

  it('finds it by key on parked_events_open_stream_idx when the position key is no choice', async () => {
    // The planner's choice in the bench with statistics behind the table:
    // parked_events_open_stream_idx over the position key. The position key
    // is replaced here by an index ON CONFLICT still infers but that a
    // lookup in the database's collation cannot search by key.
    const blocks = await lookUpBlocks([
      'ALTER TABLE refract.parked_events DROP CONSTRAINT parked_events_position_key',
      `CREATE UNIQUE INDEX parked_events_c_key
         ON refract.parked_events (projection COLLATE "C", version, position)`,
    ]);
    expect(blocks).toBeLessThan(KEY_LOOKUP_BLOCKS);
  });
});
