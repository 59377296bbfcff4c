import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * What the proxy does to the traffic:
 * - `pass`: forwards both ways;
 * - `latency`: forwards every chunk `ms` later, in order;
 * - `refuse`: resets every new connection at once (a server that is gone);
 * - `blackhole`: forwards nothing but keeps the sockets open (a peer that
 *   went silent: only a timeout notices).
 */
export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'latency'; ms: number }
  | { kind: 'refuse' }
  | { kind: 'blackhole' };

interface Link {
  client: Socket;
  upstream: Socket;
}

/**
 * A TCP proxy on 127.0.0.1 in front of one upstream port, for the faults
 * between a service and Postgres or Redis: added latency, every connection
 * cut, and a slow close (silence, then the cut). No toxiproxy: neither
 * Debian nor npm ships its server.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly links = new Set<Link>();
  private mode: ProxyMode = { kind: 'pass' };
  port = 0;

  constructor(
    readonly name: string,
    private readonly upstreamPort: number,
  ) {}

  /** The same URL with host and port replaced by the proxy's. */
  rewrite(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(this.port);
    return proxied.toString();
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.server = server;
  }

  set(mode: ProxyMode): void {
    this.mode = mode;
  }

  /** Destroys every open connection, both sides: each peer sees a reset. */
  cutAll(): number {
    const count = this.links.size;
    for (const link of this.links) this.drop(link);
    return count;
  }

  /**
   * Stops forwarding on every connection, old and new, keeps the sockets
   * open for `silentMs`, then cuts them all and passes traffic again.
   */
  async slowClose(silentMs: number): Promise<number> {
    this.set({ kind: 'blackhole' });
    await new Promise((resolve) => setTimeout(resolve, silentMs));
    const count = this.cutAll();
    this.set({ kind: 'pass' });
    return count;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private accept(client: Socket): void {
    if (this.mode.kind === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.upstreamPort, '127.0.0.1');
    const link: Link = { client, upstream };
    this.links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.forward(client, upstream);
    this.forward(upstream, client);
    // Either side failing or ending ends the pair, as a cut connection would.
    for (const socket of [client, upstream]) {
      socket.on('error', () => this.drop(link));
      socket.on('close', () => this.drop(link));
    }
  }

  /** Chunks from `from` to `to`, each held as the mode says at the time it arrived, never reordered. */
  private forward(from: Socket, to: Socket): void {
    const queue: { at: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const now = Date.now();
      while (queue.length > 0 && queue[0]!.at <= now) {
        if (!to.destroyed) to.write(queue.shift()!.chunk);
        else queue.shift();
      }
      if (queue.length > 0) timer = setTimeout(flush, queue[0]!.at - now);
    };
    from.on('data', (chunk: Buffer) => {
      const mode = this.mode;
      if (mode.kind === 'blackhole') return;
      const delay = mode.kind === 'latency' ? mode.ms : 0;
      if (delay === 0 && queue.length === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      // Never earlier than a chunk queued before it.
      const at = Math.max(Date.now() + delay, queue[queue.length - 1]?.at ?? 0);
      queue.push({ at, chunk });
      timer ??= setTimeout(flush, at - Date.now());
    });
    from.on('close', () => clearTimeout(timer));
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.resetAndDestroy();
    link.upstream.resetAndDestroy();
  }
}
