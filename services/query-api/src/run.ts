import { type AppChoice, chosenAppPath, loadApp } from '@refract/app-loader';
import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startQueryApi } from './server.js';

/**
 * query-api as a process (`main.ts`, `refract query-api`): config, the
 * application module (`choice`: `--config`, else REFRACT_CONFIG, else
 * refract.config.ts in the working directory, loaded before any connection
 * opens), logger, start, and a graceful stop on SIGTERM/SIGINT (service-kit's
 * runHttpService, where signals and exit codes are handled).
 */
export function runQueryApi(choice: AppChoice = {}): Promise<void> {
  return runHttpService({
    name: 'query-api',
    loadConfig,
    start: async (config, logger) =>
      startQueryApi(config, logger, await loadApp(chosenAppPath(choice, config.appPath))),
    listeningFields: (_config, server) => ({
      partitions: server.partitions,
      queryApis: server.queryApis,
    }),
  });
}
