export {
  type AnyRebuildOptions,
  dropAnyVersion,
  rebuildAnyProjection,
} from './any-projection.js';
export {
  type CounterRebuildOptions,
  type CounterStore,
  dropCounterVersion,
  rebuildCounterProjection,
} from './counter-rebuild.js';
export {
  type CutoverReport,
  compareVersions,
  type ExpectChanges,
  expectChangesSchema,
  type KeyDifference,
  NO_CHANGES_EXPECTED,
  type PartitionChecksum,
  parseExpectChanges,
  type TableReport,
} from './cutover.js';
export {
  InvalidJobDataError,
  isJobName,
  type JobData,
  type JobName,
  jobCatalog,
  parseJobData,
  REBUILD_JOB,
  REBUILD_SHARE_JOB,
  type RebuildJobData,
  type RebuildShareJobData,
} from './jobs/job-catalog.js';
export { bullPrefix, REBUILD_QUEUE, type RebuildJobSettings } from './jobs/queue-settings.js';
export {
  JobNotFoundError,
  ProjectionNotFoundError,
  RebuildAlreadyRunningError,
  RebuildNotVerifyingError,
} from './jobs/rebuild-errors.js';
export type {
  RebuildJobView,
  RebuildShareView,
  RebuildState,
} from './jobs/rebuild-job-view.js';
export type { RebuildJobResult, ReplaySettings } from './jobs/rebuild-processor.js';
export {
  createRebuildQueue,
  type RebuildQueue,
  type RebuildQueueOptions,
} from './jobs/rebuild-queue.js';
export {
  type RebuildWorker,
  type RebuildWorkerOptions,
  startRebuildWorker,
} from './jobs/rebuild-worker.js';
export type { StoreSource } from './jobs/store-source.js';
export {
  dropVersion,
  type RebuildOptions,
  type RebuildProgress,
  type RebuildResult,
  rebuildProjection,
} from './rebuild.js';
