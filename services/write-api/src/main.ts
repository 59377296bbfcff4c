import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startWriteApi } from './server.js';

/**
 * The process: config, logger, start, and a graceful stop on SIGTERM/SIGINT
 * (service-kit's runHttpService, where signals and exit codes are handled).
 */
await runHttpService({
  name: 'write-api',
  loadConfig,
  start: startWriteApi,
  listeningFields: (config) => ({ relay: config.relay.mode }),
});
