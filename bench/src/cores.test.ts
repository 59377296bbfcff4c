import { readFileSync } from 'node:fs';
import { createTestDatabase, eventually } from '@refract/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { cpuList, parseCores, pinBackendsDuring, pinnedCommand, pinTo } from './cores.js';

const allowedCpus = (pid: number) =>
  /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

describe('--cores', () => {
  it('takes a list of core counts, ascending, each once', () => {
    expect(parseCores('1,2', 2)).toEqual([1, 2]);
    expect(parseCores('2, 1,2', 4)).toEqual([1, 2]);
    expect(parseCores('1', 1)).toEqual([1]);
  });

  it('refuses what is not a positive count, or more cores than the machine has', () => {
    expect(() => parseCores('0', 2)).toThrow('positive integers');
    expect(() => parseCores('1,x', 2)).toThrow('positive integers');
    expect(() => parseCores('1.5', 2)).toThrow('positive integers');
    expect(() => parseCores('3', 2)).toThrow("3 is more than this machine's 2 cores");
  });

  it('pins to the first cores', () => {
    expect(cpuList(1)).toBe('0');
    expect(cpuList(2)).toBe('0-1');
  });
});

// Pinning another user's processes (Postgres backends) takes root, as the bench's own runs have.
describe.runIf(process.getuid?.() === 0)('pinning the system under test', () => {
  it('starts services through taskset, and pins the run database’s backends, also ones opened later', async () => {
    const database = await createTestDatabase('bench_cores');
    const db = new pg.Pool({ connectionString: database.url, max: 2 });
    const backendPid = async (client: pg.PoolClient) =>
      (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      const early = await db.connect();
      pinTo(1, { db, databaseName: database.name });
      expect(pinnedCommand('node', ['main.js'])).toEqual([
        'taskset',
        ['-c', '0', 'node', 'main.js'],
      ]);
      const unpin = await pinBackendsDuring();
      expect(allowedCpus(await backendPid(early))).toBe('0');
      // Its own connection, not the pool's, which the pinning's own query may have opened.
      const late = new pg.Client({ connectionString: database.url });
      await late.connect();
      try {
        const latePid = Number((await late.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
        await eventually(() => expect(allowedCpus(latePid)).toBe('0'));
      } finally {
        await late.end();
      }
      await unpin();
      early.release();
    } finally {
      pinTo(undefined, { db, databaseName: database.name });
      await db.end();
      await database.drop();
    }
    expect(pinnedCommand('node', ['main.js'])).toEqual(['node', ['main.js']]);
  });
});
