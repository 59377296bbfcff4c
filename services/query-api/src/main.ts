import { runQueryApi } from './run.js';

/** `node dist/main.js [--config <path>]`: query-api as a process (run.ts). */
await runQueryApi();
