import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startRelay } from './server.js';

/**
 * The relay as its own process (`main.ts`, `refract relay`); it runs no
 * application module. Several may run: one leads, the others wait for its
 * lock. Config errors, signals, the shutdown deadline and exit codes are
 * service-kit's runHttpService; SIGTERM gives up leadership at once.
 */
export function runRelay(): Promise<void> {
  return runHttpService({
    name: 'relay',
    loadConfig,
    start: (config, logger) => startRelay(config, logger),
    listeningFields: (config) => ({ keyPrefix: config.keyPrefix }),
  });
}
