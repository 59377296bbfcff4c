import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Linux's default when the range cannot be read. */
const DEFAULT_EPHEMERAL_LOW = 32_768;
const LOWEST = 20_000;

/** Where the kernel starts handing out local ports for outgoing connections. */
export function ephemeralLow(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): number {
  try {
    const low = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST ? low : DEFAULT_EPHEMERAL_LOW;
  } catch {
    return DEFAULT_EPHEMERAL_LOW;
  }
}

const handedOut = new Set<number>();

/**
 * A free loopback port that a member keeps across its restarts. A port from
 * `listen(0)` lies in the ephemeral range, where the cluster's own outgoing
 * connections (hundreds, through the proxies) can take it while its member
 * is down or not started yet, and the member's next start fails with
 * EADDRINUSE. Below that range only listeners bind, so a port that binds now
 * stays ours.
 */
export async function stablePort(random: () => number = Math.random): Promise<number> {
  const high = ephemeralLow() - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(random() * (high - LOWEST + 1));
    if (handedOut.has(port)) continue;
    if (await binds(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port from ${LOWEST} to ${high} after 100 tries`);
}

function binds(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
