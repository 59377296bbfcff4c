import { configArgument, loadApp } from '@refract/app-loader';
import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { selectProjections, startWorker } from './server.js';

/**
 * One worker process, running the projections of its pool (POOL, narrowed by
 * PROJECTIONS) from the application module: `--config <path>`, else
 * REFRACT_CONFIG, else refract.config.ts in the working directory. The module
 * is loaded and checked before any connection is opened. Config errors,
 * signals, the shutdown deadline and exit codes are service-kit's
 * runHttpService: it logs `projector-worker ready` once the worker has joined
 * its pool. SIGTERM: finish the batches in hand, commit, release the leases.
 */
await runHttpService({
  name: 'projector-worker',
  loadConfig,
  loadApp: async (config) =>
    selectProjections(await loadApp(configArgument(process.argv) ?? config.appPath), config),
  start: (config, logger, app) => startWorker(config, app, logger),
  listeningFields: (config, server) => ({
    pool: config.pool,
    worker: server.workerId,
    projections: server.projections,
  }),
});
