import pg from 'pg';

const INT8_OID = 20;

/**
 * Positions and versions are bigint columns; node-postgres returns them as
 * strings. Positions stay far below 2^53 (a million events a second for 285
 * years), so numbers are safe and far handier. Scoped to our pools: the
 * global parser of an application that embeds us is left alone.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (value: string) => Number(value);
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads do not accept a union format.
    return pg.types.getTypeParser(oid, format as any);
  },
};

export interface PoolOptions {
  connectionString: string;
  /** @defaultValue 10 */
  max?: number;
  /** Shows up in pg_stat_activity, so operators can tell Refract's sessions apart. */
  applicationName?: string;
  /**
   * Send each query as soon as it is issued instead of after the previous
   * one's answer (pg's pipeline mode): statements issued without awaiting
   * share one round trip. Queries that keep a portal open (cursors, the
   * `rows` option) are refused on such a pool. @defaultValue false
   */
  pipeline?: boolean;
}

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'refract',
    types: types as pg.CustomTypesConfig,
    pipeline: options.pipeline ?? false,
  });
  // An idle client that loses its connection emits 'error' on the pool; without
  // a listener that would crash the process. The next query reconnects.
  pool.on('error', () => {});
  // A checked-out client has no pool listener: pg-pool removes it on checkout.
  // A backend terminated between two statements of a transaction then emitted
  // 'error' on the bare client and crashed every process (the fault suite's
  // pg_terminate_backend). The failure still reaches the caller: the client's
  // next query rejects, and release(error) discards it.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}
