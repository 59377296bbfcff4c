import { type AppChoice, chosenAppPath, loadApp } from '@refract/app-loader';
import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startAdmin } from './server.js';

/**
 * admin as a process (`main.ts`, `refract admin`): config, the application
 * module (`choice`: `--config <path>`, else REFRACT_CONFIG, else
 * refract.config.ts in the working directory), logger, start, and a graceful
 * stop on SIGTERM/SIGINT (service-kit's runHttpService, where signals and
 * exit codes are handled).
 */
export function runAdmin(choice: AppChoice = {}): Promise<void> {
  return runHttpService({
    name: 'admin',
    loadConfig,
    loadApp: (config) => loadApp(chosenAppPath(choice, config.appPath)),
    start: (config, logger, app) => startAdmin(config, app, logger),
    listeningFields: (config) => ({ relay: config.relayName }),
  });
}
