export { loadConfig, type WorkerConfig } from './config.js';
export { runProjectorWorker, type WorkerRunOptions } from './run.js';
