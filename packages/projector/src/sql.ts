import { readFileSync } from 'node:fs';

const load = (name: string) => readFileSync(new URL(`../sql/${name}.sql`, import.meta.url), 'utf8');

export const SQL = {
  advanceCheckpoints: load('advance-checkpoints'),
  loadCheckpoints: load('load-checkpoints'),
  parkEvent: load('park-event'),
  haltPartition: load('halt-partition'),
  readFlags: load('read-flags'),
  readLag: load('read-lag'),
  countApplied: load('count-applied'),
  headPosition: load('head-position'),
  setPaused: load('set-paused'),
  readProjection: load('read-projection'),
  countOpenParked: load('count-open-parked'),
  lockProjection: load('lock-projection'),
} as const;

/**
 * The statement of every batch transaction, named: prepared once per
 * connection instead of parsed and planned per batch.
 */
export const NAMED = {
  advanceCheckpoints: { name: 'refract-advance-checkpoints', text: SQL.advanceCheckpoints },
} as const;

/** Woken readers (query-api's read-your-writes) listen here. */
export const CHECKPOINTS_CHANNEL = 'refract_checkpoints';

/** The payload a batch sends on CHECKPOINTS_CHANNEL: `<projection>:<version>:<partition>:<position>`. */
export function checkpointNotice(
  projection: string,
  version: number,
  partition: number,
  position: number,
): string {
  return `${projection}:${version}:${partition}:${position}`;
}

/** A rebuild's swap changed a live version; workers listen to switch at once, not at their next heartbeat. */
export const PROJECTIONS_CHANNEL = 'refract_projections';
