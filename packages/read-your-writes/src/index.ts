export {
  CheckpointWatcher,
  type CheckpointWatcherOptions,
  createCheckpointWatcher,
  type PartitionTarget,
  type ReadYourWrites,
  type WaitForPositionOptions,
  type WaitOutcome,
  type WaitReport,
  type Woken,
} from './checkpoint-watcher.js';
export {
  defineQueryApi,
  type FastifyQueryApi,
  type QueryApiContext,
  type QueryApiPlugin,
} from './define-query-api.js';
export {
  NotCaughtUpError,
  type PendingPartition,
  ReadYourWritesError,
  WatcherClosedError,
} from './errors.js';
export {
  MIN_POSITION_HEADER,
  type ReadYourWritesPluginOptions,
  type ReadYourWritesRouteConfig,
  readYourWritesPlugin,
  TIMEOUT_HEADER,
} from './read-your-writes-plugin.js';
export { CHECKPOINTS_CHANNEL } from './sql.js';
