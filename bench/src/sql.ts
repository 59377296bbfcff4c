import { loadStatements } from '@refract/event-store';

export const SQL = loadStatements(import.meta.url, {
  insertEvent: 'insert-event.sql',
  resetLog: 'reset-log.sql',
  readLogPage: 'read-log-page.sql',
  readEnvelopes: 'read-envelopes.sql',
  relayCheckpoint: 'relay-checkpoint.sql',
  readOrderSummary: 'read-order-summary.sql',
  readCustomerStats: 'read-customer-stats.sql',
  staleOrderPositions: 'stale-order-positions.sql',
  resetProjections: 'reset-projections.sql',
  projectionCheckpoints: 'projection-checkpoints.sql',
});
