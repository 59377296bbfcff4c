import net from 'node:net';
import { freePort } from './redis-server.js';

export interface LateDatabase {
  /** The test database's URL through the port. */
  url: string;
  /** Starts forwarding: the database "comes up". */
  open(): Promise<void>;
  /** Stops forwarding and cuts every connection through it. */
  close(): Promise<unknown>;
}

/**
 * A TCP port that refuses connections until `open()`, then forwards them to
 * the test Postgres: a database that comes up after the process under test
 * started.
 */
export async function lateDatabase(databaseUrl: string): Promise<LateDatabase> {
  const port = await freePort();
  const target = new URL(databaseUrl);
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  const url = new URL(databaseUrl);
  url.port = String(port);
  return {
    url: url.toString(),
    open: () => new Promise<void>((resolve) => proxy.listen(port, '127.0.0.1', resolve)),
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => proxy.close(resolve));
    },
  };
}
