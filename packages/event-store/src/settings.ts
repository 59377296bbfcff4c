import type pg from 'pg';
import { SQL } from './sql.js';

/** The default partition count. Fixed at install: changing it would move streams between partitions. */
export const DEFAULT_PARTITIONS = 32;

export async function readPartitionCount(db: pg.Pool | pg.ClientBase): Promise<number> {
  let result: pg.QueryResult<{ value: number }>;
  try {
    result = await db.query<{ value: number }>(SQL.readPartitions);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') {
      throw new Error('the refract schema is missing: run the migrate step first (pnpm migrate)');
    }
    throw error;
  }
  const value = result.rows[0]?.value;
  if (typeof value !== 'number') {
    throw new Error('refract.settings has no partition count: run the migrate step first');
  }
  return value;
}
