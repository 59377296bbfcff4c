import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TcpProxy } from './tcp-proxy.js';

// The proxy the network faults go through, against a real echo server: each
// mode does what the fault suite's timeline says it did.

let echo: Server;
let proxy: TcpProxy;

beforeAll(async () => {
  echo = createServer((socket) => {
    // The proxy resets connections on purpose.
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const address = echo.address();
  proxy = new TcpProxy('test→echo', typeof address === 'object' && address ? address.port : 0);
  await proxy.start();
});

afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => echo.close(resolve));
});

async function open(): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(proxy.port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  socket.on('error', () => {});
  return { socket, received: () => text };
}

/** The close of a socket that is reset (events.once would reject on its ECONNRESET). */
function closeOf(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('TcpProxy', () => {
  it('passes traffic both ways, and rewrites a URL to itself', async () => {
    proxy.set({ kind: 'pass' });
    const { socket, received } = await open();
    socket.write('hello');
    await until(() => received() === 'hello');
    socket.destroy();
    expect(proxy.rewrite('postgres://u:p@10.0.0.1:5432/db')).toBe(
      `postgres://u:p@127.0.0.1:${proxy.port}/db`,
    );
  });

  it('delays every chunk by the latency, in order', async () => {
    proxy.set({ kind: 'latency', ms: 150 });
    const { socket, received } = await open();
    const sent = Date.now();
    for (const part of ['a', 'b', 'c', 'd']) socket.write(part);
    // Back to pass while those are held: what was queued still comes first.
    await new Promise((resolve) => setTimeout(resolve, 50));
    proxy.set({ kind: 'pass' });
    socket.write('e');
    await until(() => received().length === 5);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(140);
    expect(received()).toBe('abcde');
    socket.destroy();
  });

  it('cuts every connection and refuses new ones while refusing', async () => {
    proxy.set({ kind: 'pass' });
    const { socket } = await open();
    const closed = closeOf(socket);
    proxy.set({ kind: 'refuse' });
    // The earlier tests' connections may still be closing.
    expect(proxy.cutAll()).toBeGreaterThanOrEqual(1);
    await closed;
    const refused = connect(proxy.port, '127.0.0.1');
    refused.on('error', () => {});
    await closeOf(refused);
    proxy.set({ kind: 'pass' });
  });

  it('goes silent with the sockets open, then cuts them (slow close)', async () => {
    proxy.set({ kind: 'pass' });
    const { socket, received } = await open();
    let closedAt = 0;
    socket.on('close', () => {
      closedAt = Date.now();
    });
    const closing = proxy.slowClose(300);
    const started = Date.now();
    socket.write('lost');
    await closing;
    await until(() => closedAt > 0);
    expect(received()).toBe('');
    expect(closedAt - started).toBeGreaterThanOrEqual(290);
    // Traffic passes again afterwards.
    const next = await open();
    next.socket.write('back');
    await until(() => next.received() === 'back');
    next.socket.destroy();
  });
});
