import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@refract/observability';
import { describeExit, type ExitStatus, type SupervisedProcess } from './processes.js';

/** When a crashed service is started again, and when the stack gives up on it. */
export interface RestartPolicy {
  /** This many crashes of one service within `crashWindowMs` stop the stack. */
  crashLimit: number;
  crashWindowMs: number;
  /** The wait before the first restart; it doubles with each crash still in the window. */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RESTART_DELAYS = { firstDelayMs: 250, maxDelayMs: 10_000 } as const;

export interface SuperviseOptions {
  name: string;
  /** The process as first started (and found ready). */
  first: SupervisedProcess;
  /**
   * Starts the service again and resolves once it is ready. `spawned` is
   * called with the new process as soon as it exists, so that a stop during
   * the wait for readiness stops it too; `signal` aborts that wait.
   */
  restart(signal: AbortSignal, spawned: (process: SupervisedProcess) => void): Promise<unknown>;
  policy: RestartPolicy;
  logger: Logger;
  /**
   * Asked on each exit that was not asked for: false leaves the service down
   * (the stack is still starting, and a death then fails the start).
   */
  restartable(status: ExitStatus): boolean;
  /** The service crashed `crashLimit` times within the window: the stack stops, with this reason. */
  onGiveUp(reason: string): void;
}

export interface Supervisor {
  /** Restarts so far. */
  readonly restarts: number;
  /**
   * Stops the service for good: no restart after this, a pending one is
   * called off, and the current process (one still starting included) gets
   * SIGTERM, then SIGKILL after `timeoutMs`. Resolves with how it ended, or
   * undefined when no process was running. Idempotent.
   */
  stop(timeoutMs: number): Promise<ExitStatus | undefined>;
  /** SIGKILL the current process now; no restart follows. */
  kill(): void;
}

/**
 * Keeps one service of the stack running: each exit that nobody asked for is
 * logged and followed by a restart after a backoff (`firstDelayMs`, doubled
 * for each crash still within the window, at most `maxDelayMs`); a restart
 * that fails to become ready counts as a crash too. A service that keeps
 * dying is not hidden behind restarts for ever: `crashLimit` crashes within
 * `crashWindowMs` give up, and the caller stops the stack with the reason.
 */
export function supervise(options: SuperviseOptions): Supervisor {
  const { name, policy, logger } = options;
  let current = options.first;
  let restarts = 0;
  let stopped = false;
  const crashes: number[] = [];
  const cancel = new AbortController();

  const crashed = (exit: string): void => {
    const now = Date.now();
    crashes.push(now);
    while (crashes.length > 0 && crashes[0]! <= now - policy.crashWindowMs) crashes.shift();
    if (crashes.length >= policy.crashLimit) {
      logger.error({ exit, crashes: crashes.length }, `${name} keeps crashing: giving up`);
      options.onGiveUp(
        `${name} crashed ${crashes.length} times within ${policy.crashWindowMs} ms (last: ${exit})`,
      );
      return;
    }
    const delayMs = Math.min(policy.firstDelayMs * 2 ** (crashes.length - 1), policy.maxDelayMs);
    logger.warn(
      { exit, crashes: crashes.length, crashLimit: policy.crashLimit, delayMs },
      `${name} crashed: restarting`,
    );
    void restartAfter(delayMs);
  };

  const restartAfter = async (delayMs: number): Promise<void> => {
    try {
      await sleep(delayMs, undefined, { signal: cancel.signal });
      await options.restart(cancel.signal, (process) => {
        current = process;
      });
    } catch (error) {
      if (stopped) return;
      // It died (or hung) on its way up: the same as a crash, and it is not
      // left running half-started.
      await current.stop(0);
      crashed(`did not come back (${(error as Error).message})`);
      return;
    }
    if (stopped) return;
    restarts += 1;
    logger.info({ pid: current.pid, restarts }, `${name} restarted`);
    watch(current);
  };

  const watch = (process: SupervisedProcess): void => {
    void process.exited.then((status) => {
      if (stopped || process !== current || !options.restartable(status)) return;
      crashed(describeExit(status));
    });
  };
  watch(current);

  let stopping: Promise<ExitStatus | undefined> | undefined;
  return {
    get restarts() {
      return restarts;
    },
    stop(timeoutMs) {
      stopped = true;
      cancel.abort();
      stopping ??= current.running ? current.stop(timeoutMs) : Promise.resolve(undefined);
      return stopping;
    },
    kill() {
      stopped = true;
      cancel.abort();
      current.kill();
    },
  };
}
