import { describe, expect, it } from 'vitest';
import { untilReachable } from './until-reachable.js';

const refused = () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });

describe('untilReachable', () => {
  it('runs the step again while it fails on a connection error, then returns its result', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await untilReachable(
      async () => {
        calls += 1;
        if (calls < 4) throw refused();
        return 'open';
      },
      { baseMs: 1, maxMs: 2, onRetry: (_error, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('open');
    expect(calls).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('lets any other error through at once', async () => {
    let calls = 0;
    const wrong = Object.assign(new Error('password authentication failed'), { code: '28P01' });
    await expect(
      untilReachable(
        async () => {
          calls += 1;
          throw wrong;
        },
        { baseMs: 1, onRetry: () => {} },
      ),
    ).rejects.toBe(wrong);
    expect(calls).toBe(1);
  });

  it('ends the wait when aborted, with the last connection error', async () => {
    const stop = new AbortController();
    let calls = 0;
    const waiting = untilReachable(
      async () => {
        calls += 1;
        throw refused();
      },
      // A long wait: only the abort can end it within the test's time.
      { baseMs: 60_000, signal: stop.signal, onRetry: () => stop.abort() },
    );
    await expect(waiting).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(1);
  });
});
