import { readFileSync } from 'node:fs';

/** Loads `faults/sql/<name>.sql`; statements are constants, read once at import. */
function load(name: string): string {
  return readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');
}

export const SQL = {
  readLog: load('read-log'),
  readOrderSummary: load('read-order-summary'),
  readCustomerStats: load('read-customer-stats'),
  countParked: load('count-parked'),
  terminateBackends: load('terminate-backends'),
} as const;
