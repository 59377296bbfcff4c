import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Retries an assertion until it passes or the time is up, then throws its
 * last error. For conditions that a background process brings about; the
 * limit is a safety net, not a performance claim.
 */
export async function eventually<T>(
  assertion: () => Promise<T> | T,
  { timeoutMs = 10_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
