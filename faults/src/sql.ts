import { loadStatements } from '@refract/event-store';

export const SQL = loadStatements(import.meta.url, {
  readLog: 'read-log.sql',
  readOrderSummary: 'read-order-summary.sql',
  readCustomerStats: 'read-customer-stats.sql',
  readOpenParked: 'read-open-parked.sql',
  readTripped: 'read-tripped.sql',
  headPosition: 'head-position.sql',
  terminateBackends: 'terminate-backends.sql',
});
