export { type AppOptions, buildApp } from './app.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { type QueryApiMetrics, queryApiMetrics, watcherMetrics } from './metrics.js';
export { runQueryApi } from './run.js';
export { type QueryApiServer, startQueryApi } from './server.js';
