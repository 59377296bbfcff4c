import { readFileSync } from 'node:fs';

const load = (name: string) => readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');

export const SQL = {
  readCheckpoints: load('read-checkpoints'),
  headPosition: load('head-position'),
  streamTarget: load('stream-target'),
  partitionTargets: load('partition-targets'),
} as const;

/**
 * The projector runtime notifies here, in the transaction that moves a
 * checkpoint: `<projection>:<version>:<partition>:<position>`. The same
 * string as @refract/projector's CHECKPOINTS_CHANNEL (a test holds them
 * together), kept here so a query API does not load the worker runtime.
 */
export const CHECKPOINTS_CHANNEL = 'refract_checkpoints';
