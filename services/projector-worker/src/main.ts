import { runProjectorWorker } from './run.js';

/** `node dist/main.js [--config <path>]`: one worker process, its pool from POOL (run.ts). */
await runProjectorWorker();
