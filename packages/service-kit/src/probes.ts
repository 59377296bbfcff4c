import { DependencyUnavailableError } from '@refract/core';

/** What the readiness check needs of a Postgres pool (`pg.Pool`). */
export interface Queryable {
  query(text: string): Promise<unknown>;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * `/readyz`'s Postgres check: `SELECT 1` answered within `timeoutMs`, else a
 * DependencyUnavailableError for `postgres` (503). The timeout is our own: a
 * blackholed database would otherwise hang the probe for the TCP connect
 * timeout, long past the orchestrator's patience.
 */
export async function checkPostgres(pool: Queryable, timeoutMs: number): Promise<void> {
  try {
    await withTimeout(pool.query('SELECT 1'), timeoutMs);
  } catch (error) {
    throw new DependencyUnavailableError('postgres', error);
  }
}
