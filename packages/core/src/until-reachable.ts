import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs } from './backoff.js';
import { isConnectionError } from './connection-error.js';

export interface UntilReachableOptions {
  /** Called before each wait, to log the outage. */
  onRetry: (error: unknown, attempt: number, delayMs: number) => void;
  /** Aborting ends the waiting: the last connection error is thrown. */
  signal?: AbortSignal;
  /** @defaultValue 200 */
  baseMs?: number;
  /** @defaultValue 5000 */
  maxMs?: number;
}

/**
 * Runs a start-up step again for as long as it fails on a connection error
 * (the database restarting, failing over, cutting sessions), with jittered
 * backoff: a process started during an outage waits it out instead of
 * exiting. Any other error, or an abort, ends it.
 */
export async function untilReachable<T>(
  run: () => Promise<T>,
  options: UntilReachableOptions,
): Promise<T> {
  const { signal, baseMs = 200, maxMs = 5000 } = options;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await run();
    } catch (error) {
      if (!isConnectionError(error) || signal?.aborted) throw error;
      const delayMs = backoffDelayMs(attempt, { baseMs, maxMs });
      options.onRetry(error, attempt, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => {});
      if (signal?.aborted) throw error;
    }
  }
}
