import { createServer } from 'node:net';
import type { PortChoice } from './config.js';

/** Resolves with the port bound on 127.0.0.1 (0: any free one), or rejects (EADDRINUSE). */
function bindOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * The preferred port when it is free, else any free one; a port the user
 * chose explicitly must be free. Another process can still take the port
 * before the server binds it; the server's own error then says so.
 */
export async function choosePort(choice: PortChoice, what: string): Promise<number> {
  try {
    return await bindOnce(choice.port);
  } catch (error) {
    if (choice.strict) {
      throw new Error(`${what} port ${choice.port} is in use: ${(error as Error).message}`);
    }
    return bindOnce(0);
  }
}

/**
 * `count` ports from `base` on, one after another, skipping any in use: the
 * workers of every pool take WORKER_PORT onwards, and a port of that run held
 * by another process must not stop the stack (a worker would exit on
 * EADDRINUSE before it was ready).
 */
export async function freePortsFrom(base: number, count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let port = base; ports.length < count && port <= 65_535; port++) {
    const free = await bindOnce(port).then(
      () => true,
      () => false,
    );
    if (free) ports.push(port);
  }
  if (ports.length < count) throw new Error(`WORKER_PORT: no ${count} free ports from ${base} on`);
  return ports;
}
