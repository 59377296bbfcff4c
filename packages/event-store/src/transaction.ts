import type pg from 'pg';
import { isConnectionError } from './pg-pool.js';

/**
 * Runs `fn` in a transaction on a pooled client: COMMIT when it resolves,
 * ROLLBACK when it throws (the error is re-thrown), and a client whose
 * connection broke is discarded rather than returned to the pool.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    if (isConnectionError(error)) broken = error as Error;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release(broken);
  }
}
