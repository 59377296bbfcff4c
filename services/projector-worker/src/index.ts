export { CATALOG, selectProjections } from './catalog.js';
export { loadConfig, type WorkerConfig } from './config.js';
