export { loadConfig, type WorkerConfig } from './config.js';
