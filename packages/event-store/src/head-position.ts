import type pg from 'pg';
import { SQL } from './sql.js';

/** The highest committed position of the log; 0 when it is empty. */
export async function readHeadPosition(db: pg.Pool | pg.ClientBase): Promise<number> {
  const result = await db.query<{ head: string }>(SQL.headPosition);
  return Number(result.rows[0]?.head ?? 0);
}
