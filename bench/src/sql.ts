import { readFileSync } from 'node:fs';

/** Loads `bench/sql/<name>.sql`; statements are constants, read once at import. */
function load(name: string): string {
  return readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');
}

export const SQL = {
  insertEvent: load('insert-event'),
  resetLog: load('reset-log'),
  readLogPage: load('read-log-page'),
  readEnvelopes: load('read-envelopes'),
  relayCheckpoint: load('relay-checkpoint'),
  readOrderSummary: load('read-order-summary'),
  readCustomerStats: load('read-customer-stats'),
  staleOrderPositions: load('stale-order-positions'),
  resetProjections: load('reset-projections'),
  projectionCheckpoints: load('projection-checkpoints'),
} as const;
