import { Progress } from './progress.js';

/** Appends waiting for their answer, at most, unless told: beyond that the system cannot keep up and the phase fails. */
const MAX_IN_FLIGHT = 5_000;

export interface OfferOptions<T> {
  phase: string;
  items: readonly T[];
  ratePerSec: number;
  /** Items with the same key go one after the other (events of one stream). */
  keyOf: (item: T) => string;
  /** Sends one item; resolves with what onAck gets (the append's position). */
  send: (item: T) => Promise<number>;
  /** Called as each answer arrives, with the item, the send's result and how long it took. */
  onAck: (item: T, result: number, sendMs: number) => void;
  /** Stop offering (the items not yet due are not sent); what is in flight is awaited. */
  signal?: AbortSignal;
  /** Items sent and not yet answered, at most. @defaultValue 5000 */
  maxInFlight?: number;
  /**
   * At `maxInFlight`: `fail` the phase (the system does not take the rate),
   * or `wait` for answers before sending more (the rate drops to what the
   * system takes, for appends that are only the background of a figure).
   * @defaultValue 'fail'
   */
  whenBehind?: 'fail' | 'wait';
}

/**
 * Offers items at a steady rate, open loop: on a 1 ms timer, every item
 * whose time has come is issued, whether or not earlier ones were answered.
 * A key's next item waits for its previous one (one client's appends, in
 * order). Returns the elapsed milliseconds and how many items were sent.
 */
export async function offerAtRate<T>(
  options: OfferOptions<T>,
): Promise<{ ms: number; sent: number }> {
  const { items, keyOf, send, onAck, signal } = options;
  const maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
  const progress = new Progress(options.phase, items.length);
  const tails = new Map<string, Promise<void>>();
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  const intervalMs = 1000 / options.ratePerSec;
  const started = performance.now();
  let sent = 0;
  try {
    while (sent < items.length && failure === undefined && !signal?.aborted) {
      const due = Math.min(
        items.length,
        Math.floor((performance.now() - started) / intervalMs) + 1,
      );
      while (sent < due && !(options.whenBehind === 'wait' && pending.size >= maxInFlight)) {
        const item = items[sent++]!;
        const key = keyOf(item);
        const before = tails.get(key);
        const one = (async () => {
          if (before) await before;
          const issued = performance.now();
          const result = await send(item);
          onAck(item, result, performance.now() - issued);
          progress.add(1);
        })().catch((error: unknown) => {
          failure ??= error;
        });
        tails.set(key, one);
        pending.add(one);
        void one.finally(() => {
          pending.delete(one);
          if (tails.get(key) === one) tails.delete(key);
        });
      }
      if (options.whenBehind !== 'wait' && pending.size > maxInFlight) {
        failure = new Error(
          `over ${maxInFlight} appends in flight after ${sent} sent: the system does not keep up with ${options.ratePerSec}/s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(pending);
    if (failure !== undefined) throw failure;
    const elapsed = performance.now() - started;
    progress.finish();
    return { ms: elapsed, sent };
  } catch (error) {
    progress.abort();
    throw error;
  }
}
