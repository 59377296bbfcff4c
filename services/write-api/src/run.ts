import { type AppChoice, chosenAppPath, loadApp } from '@refract/app-loader';
import { insecureNoAuthFlag, runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { startWriteApi } from './server.js';

/**
 * write-api as a process (`main.ts`, `refract write-api`): config, the
 * application module (`choice`: `--config <path>`, else REFRACT_CONFIG, else
 * refract.config.ts in the working directory), logger, start, and a graceful
 * stop on SIGTERM/SIGINT (service-kit's runHttpService, where signals and
 * exit codes are handled). Without a token it refuses a non-loopback host
 * unless `--insecure-no-auth`.
 */
export function runWriteApi(
  choice: AppChoice & {
    /** `--insecure-no-auth` as the CLI parsed it; unset, read from `choice.argv` (process.argv). */
    insecureNoAuth?: boolean;
  } = {},
): Promise<void> {
  const insecureNoAuth = choice.insecureNoAuth ?? insecureNoAuthFlag(choice.argv);
  return runHttpService({
    name: 'write-api',
    loadConfig: () => loadConfig(process.env, { insecureNoAuth }),
    loadApp: (config) => loadApp(chosenAppPath(choice, config.appPath)),
    start: (config, logger, app) => startWriteApi(config, app, logger),
    listeningFields: (config) => ({
      relay: config.relay.mode,
      auth: config.tokens.length > 0 ? 'bearer' : 'off',
    }),
  });
}
