export { type ApplyOutcome, applyToSlot, CheckpointMoved, type Slot } from './apply.js';
export {
  listParkedEvents,
  type ParkedEvent,
  ParkedEventNotFoundError,
  ParkedEventResolvedError,
  retryParkedEvent,
  skipParkedEvent,
} from './parked.js';
export {
  type ActiveProjection,
  PartitionRunner,
  type PartitionRunnerOptions,
} from './partition-runner.js';
export { registerCounterProjection, registerProjection } from './register.js';
export { CHECKPOINTS_CHANNEL, PROJECTIONS_CHANNEL } from './sql.js';
export { ProjectorWorker, type ProjectorWorkerOptions, type WorkerStatus } from './worker.js';
