import { loadStatements } from '@refract/event-store';

export const SQL = loadStatements(import.meta.url, {
  advanceCheckpoints: 'advance-checkpoints.sql',
  loadCheckpoints: 'load-checkpoints.sql',
  parkEvent: 'park-event.sql',
  haltPartition: 'halt-partition.sql',
  readFlags: 'read-flags.sql',
  readLag: 'read-lag.sql',
  countApplied: 'count-applied.sql',
  setPaused: 'set-paused.sql',
  readProjection: 'read-projection.sql',
  upsertProjection: 'upsert-projection.sql',
  seedCheckpoints: 'seed-checkpoints.sql',
  lockProjection: 'lock-projection.sql',
  setLiveVersion: 'set-live-version.sql',
  lockVersionCheckpoints: 'lock-version-checkpoints.sql',
  readVersionCheckpoints: 'read-version-checkpoints.sql',
  dropVersionCheckpoints: 'drop-version-checkpoints.sql',
  listVersions: 'list-versions.sql',
  listParked: 'list-parked.sql',
  readParked: 'read-parked.sql',
  readHeldParked: 'read-held-parked.sql',
  skipHeldParked: 'skip-held-parked.sql',
  markParkedSkipped: 'mark-parked-skipped.sql',
  countOpenParked: 'count-open-parked.sql',
  parkEvents: 'park-events.sql',
  quarantinedStreams: 'quarantined-streams.sql',
  tripProjection: 'trip-projection.sql',
  lockCheckpoint: 'lock-checkpoint.sql',
  lockStreamParked: 'lock-stream-parked.sql',
  settleStreamParked: 'settle-stream-parked.sql',
  listOpenStreams: 'list-open-streams.sql',
  parkedSummary: 'parked-summary.sql',
  readTrips: 'read-trips.sql',
  streamParkedHead: 'stream-parked-head.sql',
  uncountParked: 'uncount-parked.sql',
  auditCounts: 'audit-counts.sql',
  auditParked: 'audit-parked.sql',
  saveAudits: 'save-audits.sql',
  readAudits: 'read-audits.sql',
  seedReactorCheckpoints: 'seed-reactor-checkpoints.sql',
  replayReactor: 'replay-reactor.sql',
  readEffect: 'read-effect.sql',
  attemptEffect: 'attempt-effect.sql',
  markEffectDone: 'mark-effect-done.sql',
  effectSummary: 'effect-summary.sql',
});

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
