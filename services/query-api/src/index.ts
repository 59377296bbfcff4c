export { type AppOptions, buildApp } from './app.js';
export {
  CHECKPOINTS_CHANNEL,
  CheckpointWatcher,
  type CheckpointWatcherOptions,
  type PartitionTarget,
  type WaitOutcome,
} from './checkpoints.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { type QueryApiMetrics, queryApiMetrics } from './metrics.js';
export {
  type CustomerStatsView,
  centsToDecimal,
  type OrderSummaryView,
} from './read-models.js';
export { type QueryApiServer, startQueryApi } from './server.js';
