import { runWriteApi } from './run.js';

/** `node dist/main.js [--config <path>]`: write-api as a process (run.ts). */
await runWriteApi();
