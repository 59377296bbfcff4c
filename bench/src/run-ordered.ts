export class PhaseTimeoutError extends Error {
  constructor(phase: string, limitMs: number) {
    super(`${phase} did not finish within ${limitMs / 1000} s`);
    this.name = 'PhaseTimeoutError';
  }
}

export interface RunOrderedOptions<T> {
  phase: string;
  items: readonly T[];
  /** Workers that take items from one shared queue, in order. */
  concurrency: number;
  /** Items with the same key run one after the other, in queue order (events of one stream). */
  keyOf: (item: T) => string;
  run: (item: T) => Promise<void>;
  /** Called after each item, for progress. */
  onDone?: (item: T) => void;
  timeLimitMs: number;
}

/**
 * Runs items with a fixed number of concurrent workers, as a pool of
 * clients would. An item whose key is still in flight waits for it, so two
 * events of one stream never race. Stops at the first error (other workers
 * finish their current item, take no more) and at the time limit.
 */
export async function runOrdered<T>(options: RunOrderedOptions<T>): Promise<void> {
  const { items, keyOf, run } = options;
  const deadline = performance.now() + options.timeLimitMs;
  const tails = new Map<string, Promise<void>>();
  let next = 0;
  let failure: unknown;

  const worker = async () => {
    while (failure === undefined && next < items.length) {
      if (performance.now() > deadline) {
        failure = new PhaseTimeoutError(options.phase, options.timeLimitMs);
        break;
      }
      const item = items[next++]!;
      const key = keyOf(item);
      const before = tails.get(key);
      const current = (async () => {
        if (before) await before;
        await run(item);
      })();
      tails.set(key, current);
      try {
        await current;
        options.onDone?.(item);
      } catch (error) {
        failure ??= error;
      } finally {
        if (tails.get(key) === current) tails.delete(key);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  if (failure !== undefined) throw failure;
}
