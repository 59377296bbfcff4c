import { loadStatements } from './load-statements.js';

export const SQL = loadStatements(import.meta.url, {
  appendBatch: 'append-batch.sql',
  appendOne: 'append-one.sql',
  appendKeyed: 'append-keyed.sql',
  findIdempotencyKey: 'find-idempotency-key.sql',
  deleteExpiredKeys: 'delete-expired-keys.sql',
  readStream: 'read-stream.sql',
  streamVersion: 'stream-version.sql',
  readAll: 'read-all.sql',
  headPosition: 'head-position.sql',
  loadSnapshot: 'load-snapshot.sql',
  saveSnapshot: 'save-snapshot.sql',
  readPartitions: 'read-partitions.sql',
  seedPartitions: 'seed-partitions.sql',
});
