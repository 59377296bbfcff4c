export { type ApplyOutcome, applyToSlot, type Slot, settleCounterFreeze } from './apply.js';
export {
  auditProjection,
  type PartitionAudit,
  type ProjectionAudit,
  readAudits,
  type StoredPartitionAudit,
  summarize as summarizeAudit,
} from './audit.js';
export { type CatchUpOptions, type CatchUpResult, catchUp } from './catch-up.js';
export {
  type CheckpointMove,
  CheckpointMoved,
  checkpointMove,
  commitWithCheckpoints,
} from './commit-with-checkpoints.js';
export {
  LagMonitor,
  type LagMonitorOptions,
  type LagSnapshot,
  type PartitionLag,
  type ProjectionLag,
} from './lag.js';
export {
  countOpenParkedEvents,
  listParkedEvents,
  listQuarantinedStreams,
  type ParkedEvent,
  ParkedEventNotFoundError,
  ParkedEventResolvedError,
  type ParkedSummary,
  type QuarantinedStream,
  retryAllParked,
  retryParkedEvent,
  StreamNotQuarantinedError,
  skipParkedEvent,
  skipParkedStream,
  summarizeParkedEvents,
} from './parked.js';
export {
  type ActiveProjection,
  PartitionRunner,
  type PartitionRunnerOptions,
} from './partition-runner.js';
export {
  type RegisteredProjection,
  readRegisteredProjection,
  readTrips,
  resumeProjection,
  setProjectionPaused,
} from './pause.js';
export {
  type EffectSummary,
  isReactorProjection,
  REACTOR_VERSION,
  type ReactorProjection,
  reactorProjection,
  registerReactor,
  replayReactor,
  summarizeEffects,
} from './reactor.js';
export { registerCounterProjection, registerProjection } from './register.js';
export { CHECKPOINTS_CHANNEL, checkpointNotice, PROJECTIONS_CHANNEL } from './sql.js';
export { DEFAULT_TRIP_AFTER_PARKED, tripThreshold } from './trip.js';
export {
  dropVersionCheckpoints,
  listCheckpointVersions,
  lockProjection,
  lockVersionCheckpoints,
  pointViews,
  readVersionCheckpoints,
  setLiveVersion,
} from './versions.js';
export { ProjectorWorker, type ProjectorWorkerOptions, type WorkerStatus } from './worker.js';
