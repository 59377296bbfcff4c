export interface BackoffOptions {
  /** Delay before the first retry. */
  baseMs: number;
  /** No delay exceeds this. @defaultValue 30_000 */
  maxMs?: number;
  /**
   * Share of each delay drawn at random ("equal jitter": half fixed, half
   * random by default), so that many clients failing together do not retry
   * in lockstep. 0 turns it off. @defaultValue 0.5
   */
  jitter?: number;
  /** The random source, for tests. @defaultValue Math.random */
  random?: () => number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): the base
 * doubled per attempt, capped at `maxMs`, with part of it randomised.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions): number {
  const { baseMs, maxMs = 30_000, jitter = 0.5, random = Math.random } = options;
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const capped = Math.min(baseMs * 2 ** exponent, maxMs);
  const share = Math.min(Math.max(jitter, 0), 1);
  return Math.round(capped * (1 - share) + capped * share * random());
}
