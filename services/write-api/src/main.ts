import { configArgument, loadApp } from '@refract/app-loader';
import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startWriteApi } from './server.js';

/**
 * The process: config, the application module (`--config <path>`, else
 * REFRACT_CONFIG, else refract.config.ts in the working directory), logger,
 * start, and a graceful stop on SIGTERM/SIGINT (service-kit's
 * runHttpService, where signals and exit codes are handled).
 */
await runHttpService({
  name: 'write-api',
  loadConfig,
  loadApp: (config) => loadApp(configArgument(process.argv) ?? config.appPath),
  start: (config, logger, app) => startWriteApi(config, app, logger),
  listeningFields: (config) => ({ relay: config.relay.mode }),
});
