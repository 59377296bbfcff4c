import { defineProjection } from '@refract/core';
import { createPool, migrate } from '@refract/event-store';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointMoved, commitWithCheckpoints } from './commit-with-checkpoints.js';
import { registerProjection } from './register.js';

// Its own file: Node prints a deprecation once per process, and another
// test's statements on this process would hide a second one.
const marks = defineProjection({
  name: 'marks',
  version: 1,
  pool: 'test',
  handles: ['Marked'],
  tables: ['marks'],
  setup: (table) => `CREATE TABLE IF NOT EXISTS ${table('marks')} (n integer PRIMARY KEY)`,
  apply: async () => {},
});

let db: TestDatabase;
let plain: pg.Pool;
let pipelined: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('commit-with-checkpoints');
  await migrate({ databaseUrl: db.url, partitions: 2 });
  plain = createPool({ connectionString: db.url, max: 2 });
  pipelined = createPool({ connectionString: db.url, max: 2, pipeline: true });
  await registerProjection(plain, marks, 2);
});

afterAll(async () => {
  await plain?.end();
  await pipelined?.end();
  await db?.drop();
});

const move = (from: number, to: number, partition = 0) => ({
  projection: 'marks',
  version: 1,
  partition,
  from,
  to,
  applied: 1,
});

/** The process's warnings up to now: a probe warning emitted last is seen after every earlier one. */
async function warningsSoFar(seen: Error[]): Promise<Error[]> {
  const probe = `probe-${Math.random()}`;
  const arrived = new Promise<void>((resolve) => {
    const listen = (warning: Error) => {
      if (warning.message !== probe) return;
      process.off('warning', listen);
      resolve();
    };
    process.on('warning', listen);
  });
  process.emitWarning(probe);
  await arrived;
  return seen.filter((warning) => !warning.message.startsWith('probe-'));
}

describe('commitWithCheckpoints', () => {
  it('on a plain pool, sends the write after the compare-and-set has answered: nothing queued behind a running statement', async () => {
    const seen: Error[] = [];
    const keep = (warning: Error) => seen.push(warning);
    process.on('warning', keep);
    try {
      const written = await commitWithCheckpoints(plain, [move(0, 5)], async (client) => {
        await client.query('SELECT 1');
        return 'written';
      });
      expect(written).toBe('written');
      expect((await warningsSoFar(seen)).map((w) => `${w.name}: ${w.message}`)).toEqual([]);
    } finally {
      process.off('warning', keep);
    }
  });

  it('a moved checkpoint is CheckpointMoved and the write does not run, on a plain pool', async () => {
    let ran = false;
    await expect(
      commitWithCheckpoints(plain, [move(0, 9)], async (client) => {
        ran = true;
        await client.query('SELECT 1');
      }),
    ).rejects.toBeInstanceOf(CheckpointMoved);
    expect(ran).toBe(false);
  });

  it('a moved checkpoint is CheckpointMoved whatever the write did, on a pipelined pool', async () => {
    await expect(
      commitWithCheckpoints(pipelined, [move(0, 9, 1), move(3, 9)], async (client) => {
        await client.query('SELECT 1');
      }),
    ).rejects.toBeInstanceOf(CheckpointMoved);
    const written = await commitWithCheckpoints(pipelined, [move(0, 7, 1)], async (client) => {
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      return rows[0]!.one;
    });
    expect(written).toBe(1);
  });
});
