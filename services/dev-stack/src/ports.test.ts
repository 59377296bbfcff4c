import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { freePortsFrom } from './ports.js';

describe('freePortsFrom', () => {
  let held: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (held ? held.close(() => resolve()) : resolve())));

  it('skips a port of the run that another process holds, so no worker starts on it', async () => {
    held = createServer();
    const taken = await new Promise<number>((resolve) =>
      held!.listen(0, '127.0.0.1', () => resolve((held!.address() as { port: number }).port)),
    );
    const ports = await freePortsFrom(taken, 3);
    expect(ports).toHaveLength(3);
    expect(ports).not.toContain(taken);
    expect(ports[0]).toBeGreaterThan(taken);
    expect([...ports].sort((a, b) => a - b)).toEqual(ports);
  });
});
