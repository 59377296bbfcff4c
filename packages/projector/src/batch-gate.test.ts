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

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new BatchGate(0)).toThrow(/positive integer/);
    expect(() => new BatchGate(1.5)).toThrow(/positive integer/);
  });
});
