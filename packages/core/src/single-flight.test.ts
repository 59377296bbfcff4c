import { describe, expect, it } from 'vitest';
import { singleFlight } from './single-flight.js';

/** A run the test ends by hand, counting how many were started. */
function controlled() {
  const runs: { resolve: (value: number) => void; reject: (error: Error) => void }[] = [];
  const run = () =>
    new Promise<number>((resolve, reject) => {
      runs.push({ resolve, reject });
    });
  return { runs, run };
}

describe('singleFlight', () => {
  it('shares one run between concurrent calls, and starts a new one once it settled', async () => {
    const { runs, run } = controlled();
    const flight = singleFlight(run);
    const a = flight();
    const b = flight();
    expect(runs).toHaveLength(1);
    expect(b).toBe(a);
    runs[0]!.resolve(1);
    expect(await Promise.all([a, b])).toEqual([1, 1]);
    const c = flight();
    expect(runs).toHaveLength(2);
    runs[1]!.resolve(2);
    expect(await c).toBe(2);
  });

  it('starts the run synchronously, as a direct call would', () => {
    let started = false;
    const flight = singleFlight(async () => {
      started = true;
    });
    void flight();
    expect(started).toBe(true);
  });

  it('delivers a rejection to the callers of that run only', async () => {
    const { runs, run } = controlled();
    const flight = singleFlight(run);
    const a = flight();
    const b = flight();
    runs[0]!.reject(new Error('boom'));
    await expect(a).rejects.toThrow('boom');
    await expect(b).rejects.toThrow('boom');
    const c = flight();
    expect(runs).toHaveLength(2);
    runs[1]!.resolve(3);
    expect(await c).toBe(3);
  });

  it('turns a synchronous throw into a rejection', async () => {
    const flight = singleFlight<number>(() => {
      throw new Error('sync');
    });
    await expect(flight()).rejects.toThrow('sync');
    await expect(flight()).rejects.toThrow('sync');
  });

  describe('with rerun', () => {
    it('runs exactly once more after the current run for every call made during it', async () => {
      const { runs, run } = controlled();
      const flight = singleFlight(run, { rerun: true });
      const first = flight();
      const second = flight();
      const third = flight();
      expect(runs).toHaveLength(1);
      expect(third).toBe(second);
      runs[0]!.resolve(1);
      expect(await first).toBe(1);
      expect(runs).toHaveLength(2);
      // A call during the rerun queues the next one, not this one.
      const fourth = flight();
      runs[1]!.resolve(2);
      expect(await Promise.all([second, third])).toEqual([2, 2]);
      expect(runs).toHaveLength(3);
      runs[2]!.resolve(3);
      expect(await fourth).toBe(3);
      await flight.settled();
      expect(runs).toHaveLength(3);
    });

    it('runs the queued rerun after a failed run and gives its callers its result', async () => {
      const { runs, run } = controlled();
      const flight = singleFlight(run, { rerun: true });
      const failing = flight();
      const fresh = flight();
      runs[0]!.reject(new Error('boom'));
      await expect(failing).rejects.toThrow('boom');
      expect(runs).toHaveLength(2);
      runs[1]!.resolve(5);
      expect(await fresh).toBe(5);
    });

    it('delivers a failed rerun to its own callers', async () => {
      const { runs, run } = controlled();
      const flight = singleFlight(run, { rerun: true });
      const first = flight();
      const second = flight();
      runs[0]!.resolve(1);
      expect(await first).toBe(1);
      runs[1]!.reject(new Error('rerun failed'));
      await expect(second).rejects.toThrow('rerun failed');
      const third = flight();
      runs[2]!.resolve(3);
      expect(await third).toBe(3);
    });
  });

  describe('settled', () => {
    it('resolves at once when idle, and starts nothing', async () => {
      const { runs, run } = controlled();
      const flight = singleFlight(run);
      await flight.settled();
      expect(runs).toHaveLength(0);
    });

    it('waits for the run and its queued rerun, and does not reject', async () => {
      const { runs, run } = controlled();
      const flight = singleFlight(run, { rerun: true });
      const first = flight();
      const second = flight();
      let done = false;
      const settled = flight.settled().then(() => {
        done = true;
      });
      runs[0]!.reject(new Error('boom'));
      await expect(first).rejects.toThrow('boom');
      expect(done).toBe(false);
      runs[1]!.resolve(2);
      await second;
      await settled;
      expect(done).toBe(true);
    });
  });
});
