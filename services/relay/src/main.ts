import { runRelay } from './run.js';

/** `node dist/main.js`: the relay as its own process (run.ts). */
await runRelay();
