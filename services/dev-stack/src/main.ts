import { runDevStack } from './run.js';

/** `pnpm start [--config <path>]`, and the stack process the launcher starts (run.ts). */
await runDevStack({ cli: 'pnpm refract' });
