export { type AppOptions, buildApp } from './app.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { type WriteApiMetrics, writeApiMetrics } from './metrics.js';
export { runWriteApi } from './run.js';
export { startWriteApi, type WriteApiServer } from './server.js';
