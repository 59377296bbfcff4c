import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ephemeralLow, stablePort } from './stable-port.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('stablePort', () => {
  it('reads the low end of the ephemeral range, with a default when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ports-'));
    writeFileSync(join(dir, 'range'), '40000\t60999\n');
    expect(ephemeralLow(join(dir, 'range'))).toBe(40_000);
    expect(ephemeralLow(join(dir, 'missing'))).toBe(32_768);
  });

  it('hands out ports below the ephemeral range, each once', async () => {
    const low = ephemeralLow();
    const ports = await Promise.all(Array.from({ length: 20 }, () => stablePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(low);
    }
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('skips a port another process listens on', async () => {
    const low = ephemeralLow();
    const server = createServer();
    servers.push(server);
    let taken = 0;
    for (let port = 25_000; taken === 0 && port < low; port += 7) {
      taken = await new Promise<number>((resolve) => {
        server.once('error', () => resolve(0));
        server.listen(port, '127.0.0.1', () => resolve(port));
      });
    }
    // The first draw lands on the taken port: only the bind check refuses it.
    const draws = [(taken - 20_000 + 0.5) / (low - 20_000)];
    const port = await stablePort(() => draws.shift() ?? Math.random());
    expect(taken).toBeGreaterThan(0);
    expect(port).not.toBe(taken);
  });
});
