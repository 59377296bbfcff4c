import { readFileSync } from 'node:fs';

const load = (name: string) => readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');

export const SQL = {
  advanceCheckpoint: load('advance-checkpoint'),
  loadCheckpoints: load('load-checkpoints'),
  parkEvent: load('park-event'),
  haltPartition: load('halt-partition'),
  readFlags: load('read-flags'),
} as const;

/** Woken readers (query-api's read-your-writes) listen here. */
export const CHECKPOINTS_CHANNEL = 'refract_checkpoints';

/** A rebuild's swap changed a live version; workers listen to switch at once, not at their next heartbeat. */
export const PROJECTIONS_CHANNEL = 'refract_projections';
