import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startRelay } from './server.js';

/**
 * The relay as its own process. Several may run: one leads, the others wait
 * for its lock. Config errors, signals, the shutdown deadline and exit codes
 * are service-kit's runHttpService; SIGTERM gives up leadership at once.
 */
await runHttpService({
  name: 'relay',
  loadConfig,
  start: (config, logger) => startRelay(config, logger),
  listeningFields: (config) => ({ keyPrefix: config.keyPrefix }),
});
