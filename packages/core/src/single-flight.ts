export interface SingleFlightOptions {
  /**
   * What a call made while a run is in progress gets. `false`: that run's
   * promise (the caller only needs the work done, e.g. a periodic read).
   * `true`: one more run, started when the current one settles and shared by
   * every caller that came meanwhile, for callers that need a result at least
   * as fresh as their call (a notification asking for a re-read).
   * @defaultValue false
   */
  rerun?: boolean;
}

/** `run` behind a gate: at most one run at a time, callers joining it. */
export interface SingleFlight<T> {
  (): Promise<T>;
  /** Resolves once no run is in progress or queued; never rejects, starts nothing (for close()). */
  settled(): Promise<void>;
}

const ignore = () => {};

/**
 * Wraps `run` so that concurrent calls share one run instead of starting
 * their own. A run's rejection goes to the callers of that run only; the next
 * call (or queued rerun) starts afresh. A run starts synchronously in the
 * call that starts it, as a direct call of `run` would.
 */
export function singleFlight<T>(
  run: () => Promise<T>,
  options: SingleFlightOptions = {},
): SingleFlight<T> {
  const rerun = options.rerun ?? false;
  let current: Promise<T> | undefined;
  let queued: { promise: Promise<T>; resolve: (run: Promise<T>) => void } | undefined;

  const start = (): Promise<T> => {
    let promise: Promise<T>;
    try {
      promise = run();
    } catch (error) {
      promise = Promise.reject(error);
    }
    current = promise;
    // Registered before any caller's handler, so callers resume with the
    // gate already open (or the rerun already started).
    const after = () => {
      const next = queued;
      queued = undefined;
      if (next) next.resolve(start());
      else current = undefined;
    };
    promise.then(after, after);
    return promise;
  };

  const call = (): Promise<T> => {
    if (!current) return start();
    if (!rerun) return current;
    if (!queued) {
      let resolve!: (run: Promise<T>) => void;
      const promise = new Promise<T>((r) => {
        resolve = r;
      });
      queued = { promise, resolve };
    }
    return queued.promise;
  };

  return Object.assign(call, {
    async settled(): Promise<void> {
      while (current) await current.then(ignore, ignore);
    },
  });
}
