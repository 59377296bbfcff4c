import { type AppChoice, chosenAppPath, loadApp } from '@refract/app-loader';
import { insecureNoAuthFlag, runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startQueryApi } from './server.js';

/**
 * query-api as a process (`main.ts`, `refract query-api`): config, the
 * application module (`choice`: `--config`, else REFRACT_CONFIG, else
 * refract.config.ts in the working directory, loaded before any connection
 * opens), logger, start, and a graceful stop on SIGTERM/SIGINT (service-kit's
 * runHttpService, where signals and exit codes are handled). Without a
 * token it refuses a non-loopback host unless `--insecure-no-auth`.
 */
export function runQueryApi(
  choice: AppChoice & {
    /** `--insecure-no-auth` as the CLI parsed it; unset, read from `choice.argv` (process.argv). */
    insecureNoAuth?: boolean;
  } = {},
): Promise<void> {
  const insecureNoAuth = choice.insecureNoAuth ?? insecureNoAuthFlag(choice.argv);
  return runHttpService({
    name: 'query-api',
    loadConfig: () => loadConfig(process.env, { insecureNoAuth }),
    start: async (config, logger) =>
      startQueryApi(config, logger, await loadApp(chosenAppPath(choice, config.appPath))),
    listeningFields: (config, server) => ({
      auth: config.tokens.length > 0 ? 'bearer' : 'off',
      partitions: server.partitions,
      queryApis: server.queryApis,
    }),
  });
}
