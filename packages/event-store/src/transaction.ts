import { isConnectionError } from '@refract/core';
import type pg from 'pg';

/**
 * Runs `fn` in a transaction on a pooled client: COMMIT when it resolves,
 * ROLLBACK when it throws (the error is re-thrown), and a client whose
 * connection broke is discarded rather than returned to the pool.
 *
 * `fn` starts without waiting for BEGIN's answer: on a pool in pipeline mode
 * (`createPool({ pipeline: true })`) its first statements share BEGIN's
 * round trip; on any other pool pg sends them after it, as before.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const begin = client.query('BEGIN');
    // Observed at once: when fn fails first, BEGIN's failure (the same broken
    // connection) must not surface later as an unhandled rejection.
    begin.catch(() => {});
    const result = await fn(client);
    await begin;
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
