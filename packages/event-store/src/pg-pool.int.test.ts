import { isConnectionError } from '@refract/core';
import { createTestDatabase, type TestDatabase } from '@refract/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from './pg-pool.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pg_pool');
});

afterAll(async () => {
  await db?.drop();
});

describe('createPool', () => {
  it('survives the backend of a checked-out, idle client being terminated', async () => {
    const pool = createPool({ connectionString: db.url, max: 2, applicationName: 'victim' });
    const admin = createPool({ connectionString: db.url, max: 1, applicationName: 'admin' });
    try {
      // Checked out and between two statements, as inside a transaction.
      const client = await pool.connect();
      await client.query('BEGIN');
      const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const ended = new Promise((resolve) => client.once('end', resolve));
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      // The termination notice arrives while no query runs. Without a listener on
      // the client it is emitted as an unhandled 'error' and crashes the process
      // (here: the test run) before 'end'.
      await ended;
      const failure = await client.query('SELECT 1').then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isConnectionError(failure)).toBe(true);
      client.release(failure as Error);
      // The pool goes on with a fresh connection.
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
      await admin.end();
    }
  });
});
