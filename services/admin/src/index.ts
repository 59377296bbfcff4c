export { type AdminApp, type AppOptions, buildApp } from './app.js';
export { tokenMatches } from './auth.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { type AdminMetrics, adminMetrics } from './metrics.js';
export {
  AdminOverview,
  type Overview,
  type PartitionView,
  type ProjectionStatus,
  type ProjectionView,
  type RelayView,
  type WorkerView,
} from './overview.js';
export { runAdmin } from './run.js';
export { type AdminServer, startAdmin } from './server.js';
