import { type AppChoice, chosenAppPath, loadApp } from '@refract/app-loader';
import { runHttpService } from '@refract/service-kit';
import { loadConfig } from './config.js';
import { selectProjections, startWorker } from './server.js';

export interface WorkerRunOptions extends AppChoice {
  /** The pool to join (the CLI's `--pool`); wins over POOL, and is checked like it. */
  pool?: string;
}

/**
 * One worker process (`main.ts`, `refract worker`), running the projections
 * of its pool (`options.pool`, else POOL, narrowed by PROJECTIONS) from the
 * application module: `--config <path>`, else REFRACT_CONFIG, else
 * refract.config.ts in the working directory. The module is loaded and
 * checked before any connection is opened. Config errors, signals, the
 * shutdown deadline and exit codes are service-kit's runHttpService: it logs
 * `projector-worker ready` once the worker has joined its pool. SIGTERM:
 * finish the batches in hand, commit, release the leases.
 */
export function runProjectorWorker(options: WorkerRunOptions = {}): Promise<void> {
  const { pool } = options;
  return runHttpService({
    name: 'projector-worker',
    loadConfig: () => loadConfig(pool === undefined ? process.env : { ...process.env, POOL: pool }),
    loadApp: async (config) =>
      selectProjections(await loadApp(chosenAppPath(options, config.appPath)), config),
    start: (config, logger, app) => startWorker(config, app, logger),
    listeningFields: (config, server) => ({
      pool: config.pool,
      worker: server.workerId,
      projections: server.projections,
    }),
  });
}
