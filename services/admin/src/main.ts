import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startAdmin } from './server.js';

/**
 * The process: config, logger, start, and a graceful stop on SIGTERM/SIGINT
 * (service-kit's runHttpService, where signals and exit codes are handled).
 */
await runHttpService({
  name: 'admin',
  loadConfig,
  start: startAdmin,
  listeningFields: (config) => ({ relay: config.relayName }),
});
