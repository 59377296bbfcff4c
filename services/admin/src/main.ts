import { runAdmin } from './run.js';

/** `node dist/main.js [--config <path>]`: admin as a process (run.ts). */
await runAdmin();
