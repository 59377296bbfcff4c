import { loadStatements } from '@refract/event-store';

export const SQL = loadStatements(import.meta.url, {
  readCheckpoints: 'read-checkpoints.sql',
  streamTarget: 'stream-target.sql',
  partitionTargets: 'partition-targets.sql',
});

/**
 * The projector runtime notifies here, in the transaction that moves a
 * checkpoint: `<projection>:<version>:<partition>:<position>`. The same
 * string as @refract/projector's CHECKPOINTS_CHANNEL (a test holds them
 * together), kept here so a query API does not load the worker runtime.
 */
export const CHECKPOINTS_CHANNEL = 'refract_checkpoints';
