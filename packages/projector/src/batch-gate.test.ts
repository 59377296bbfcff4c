import { describe, expect, it } from 'vitest';
import { BatchGate } from './batch-gate.js';

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchGate', () => {
  it('lets `limit` holders in and queues the rest in arrival order', async () => {
    const gate = new BatchGate(2);
    const first = await gate.acquire();
    const second = await gate.acquire();
    const order: string[] = [];
    const queued = (name: string) =>
      gate.acquire().then((release) => {
        order.push(name);
        return release;
      });
    const third = queued('third');
    const fourth = queued('fourth');
    await settled();
    expect(order).toEqual([]);
    expect(gate.inUse).toBe(2);

    second();
    await settled();
    expect(order).toEqual(['third']);
    expect(gate.inUse).toBe(2);

    first();
    await settled();
    expect(order).toEqual(['third', 'fourth']);
    (await third)();
    (await fourth)();
    expect(gate.inUse).toBe(0);
  });

  it('ignores a second release of the same place', async () => {
    const gate = new BatchGate(1);
    const release = await gate.acquire();
    release();
    release();
    expect(gate.inUse).toBe(0);
    const again = await gate.acquire();
    const waiting = gate.acquire();
    let got = false;
    void waiting.then(() => {
      got = true;
    });
    await settled();
    expect(got).toBe(false);
    again();
    (await waiting)();
    expect(gate.inUse).toBe(0);
  });

  it('counts events: small batches share the limit, a large one waits for room, FIFO', async () => {
    const gate = new BatchGate(10);
    const a = await gate.acquire(4);
    const b = await gate.acquire(4);
    expect(gate.inUse).toBe(8);
    const order: string[] = [];
    const big = gate.acquire(50).then((release) => {
      order.push('big');
      return release;
    });
    // Arrival order: a small batch behind the big one waits too.
    const small = gate.acquire(1).then((release) => {
      order.push('small');
      return release;
    });
    await settled();
    expect(order).toEqual([]);
    a();
    await settled();
    expect(order).toEqual([]);
    b();
    await settled();
    // The big batch counts as the whole limit.
    expect(order).toEqual(['big']);
    expect(gate.inUse).toBe(10);
    (await big)();
    await settled();
    expect(order).toEqual(['big', 'small']);
    (await small)();
    expect(gate.inUse).toBe(0);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new BatchGate(0)).toThrow(/positive integer/);
    expect(() => new BatchGate(1.5)).toThrow(/positive integer/);
  });
});
