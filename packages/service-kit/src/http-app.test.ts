import { once } from 'node:events';
import net from 'node:net';
import { InvalidInputError } from '@refract/core';
import { createLogger, createMetrics } from '@refract/observability';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { closeOnce, createHttpApp, type HttpAppOptions, listen } from './http-app.js';
import { errorBody, httpErrorOf } from './http-errors.js';
import { httpMetrics } from './http-metrics.js';

/** pino's numeric levels. */
const DEBUG = 20;
const WARN = 40;
const ERROR = 50;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

function build(options: Partial<HttpAppOptions> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'debug',
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  const metrics = createMetrics({ defaultMetrics: false });
  const app = createHttpApp({
    logger,
    metrics: httpMetrics(metrics, [0.01, 0.1, 1]),
    bodyLimitBytes: 64,
    toHttpError: (error, requestId) =>
      httpErrorOf(error, requestId, {
        framework: (e) =>
          e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
            ? { statusCode: 413, level: 'debug', body: errorBody('payload_too_large', 'big') }
            : undefined,
        unreadableField: 'body',
      }),
    ...options,
  });
  app.get('/items/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (id === 'bad') throw new InvalidInputError('id', 'is bad');
    if (id === 'boom') throw new Error('internal detail');
    return { id };
  });
  app.post('/items', async (request) => request.body);
  app.get('/healthz', async () => ({ status: 'ok' }));
  apps.push(app);
  return { app, lines, metrics };
}

describe('createHttpApp', () => {
  it('keeps a client request id that looks like one, and makes one otherwise', async () => {
    const { app } = build();
    const kept = await app.inject({ url: '/items/1', headers: { 'x-request-id': 'abc-1.2:3' } });
    expect(kept.headers['x-request-id']).toBe('abc-1.2:3');
    const made = await app.inject({ url: '/items/1', headers: { 'x-request-id': 'no spaces!' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers every failure in the error shape, through toHttpError', async () => {
    const { app } = build();
    const bad = await app.inject({ url: '/items/bad' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: 'invalid_request', message: 'id is bad', field: 'id' });

    const boom = await app.inject({ url: '/items/boom', headers: { 'x-request-id': 'r-1' } });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toEqual({
      error: 'internal_error',
      message: 'an unexpected error occurred',
      requestId: 'r-1',
    });

    const missing = await app.inject({ method: 'DELETE', url: '/nothing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: 'not_found', message: 'no endpoint DELETE /nothing' });

    const large = await app.inject({
      method: 'POST',
      url: '/items',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ text: 'x'.repeat(100) }),
    });
    expect(large.statusCode).toBe(413);
    expect(large.headers['content-type']).toMatch(/^application\/json/);
    expect(large.json()).toEqual({ error: 'payload_too_large', message: 'big' });
  });

  it('answers bad percent-encoding and over-long path segments 400, not fastify’s way', async () => {
    const { app } = build();
    for (const url of ['/items/%E0%A4%A', `/items/${'x'.repeat(1025)}`]) {
      const answer = await app.inject({ url });
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toMatchObject({ error: 'invalid_request', field: 'url' });
    }
    // Up to 1024 characters a segment reaches the route (and the service's own id check).
    expect((await app.inject({ url: `/items/${'x'.repeat(1024)}` })).statusCode).toBe(200);
  });

  it('logs one line per request, none for probes, and our own failures with the error', async () => {
    const { app, lines } = build();
    await app.inject({ url: '/healthz' });
    await app.inject({ url: '/items/1' });
    await app.inject({ url: '/items/bad' });
    await app.inject({ url: '/items/boom' });
    const completed = lines.filter((line) => line.msg === 'request completed');
    expect(completed.map((line) => [line.url, line.statusCode])).toEqual([
      ['/items/1', 200],
      ['/items/bad', 400],
      ['/items/boom', 500],
    ]);
    expect(completed[0]).toMatchObject({ method: 'GET', responseTimeMs: expect.any(Number) });
    expect(lines.some((line) => line.msg === 'incoming request')).toBe(false);
    // A client mistake: its message at debug. Our failure: the error, at error.
    expect(lines.find((line) => line.msg === 'id is bad')).toMatchObject({
      level: DEBUG,
      code: 'invalid_request',
    });
    const failed = lines.find((line) => line.msg === 'request failed');
    expect(failed).toMatchObject({ level: ERROR, code: 'internal_error' });
    expect(JSON.stringify(failed?.err)).toContain('internal detail');
  });

  it('logs expected failures by their message alone, at their level', async () => {
    const { app, lines } = build({
      toHttpError: () => ({ statusCode: 504, level: 'warn', body: errorBody('late', 'too late') }),
      expected: (answer) => answer.body.error === 'late',
    });
    expect((await app.inject({ url: '/items/boom' })).statusCode).toBe(504);
    const line = lines.find((l) => l.msg === 'too late');
    expect(line).toMatchObject({ level: WARN, code: 'late' });
    expect(line).not.toHaveProperty('err');
  });

  it('counts and times every answer by method, route pattern and status', async () => {
    const { app, metrics } = build();
    await app.inject({ url: '/items/1' });
    await app.inject({ url: '/items/2' });
    await app.inject({ url: '/nothing' });
    const text = await metrics.render();
    expect(text).toContain(
      'refract_http_requests_total{method="GET",route="/items/:id",status_code="200"} 2',
    );
    expect(text).toContain(
      'refract_http_requests_total{method="GET",route="unmatched",status_code="404"} 1',
    );
    expect(text).toContain(
      'refract_http_request_duration_seconds_count{method="GET",route="/items/:id"} 2',
    );
    expect(text).toContain('refract_http_request_duration_seconds_bucket{le="0.1",');
  });
});

describe('closing', () => {
  /** Sends `head` on a new connection; `send` adds the rest. `answer`: all received, once closed. */
  async function rawRequest(port: number, head: string) {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const answer = once(socket, 'close').then(() => Buffer.concat(chunks).toString());
    await once(socket, 'connect');
    socket.write(head);
    return { send: (rest: string) => socket.write(rest), answer };
  }

  it('finishes requests in flight with Connection: close and refuses new ones 503', async () => {
    const { app } = build();
    let release: () => void = () => {};
    let entered: () => void = () => {};
    const inHandler = new Promise<void>((resolve) => {
      entered = resolve;
    });
    app.get('/slow', async () => {
      entered();
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { done: true };
    });
    const port = await listen(app, { port: 0, host: '127.0.0.1' });

    const slow = await rawRequest(port, 'GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await inHandler;
    // Half its headers sent: in flight when close() starts, complete only after.
    const late = await rawRequest(port, 'GET /items/1 HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => setTimeout(resolve, 50));

    const closed = app.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    late.send('\r\n');
    const refused = await late.answer;
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toMatch(/^connection: close$/im);
    expect(refused).toMatch(/^x-request-id: /im);
    expect(JSON.parse(refused.slice(refused.indexOf('{')))).toEqual({
      error: 'shutting_down',
      message: 'the server is shutting down; retry on another instance',
    });

    release();
    const finished = await slow.answer;
    expect(finished).toMatch(/^HTTP\/1\.1 200 /);
    expect(finished).toMatch(/^connection: close$/im);
    await closed;
  });
});

describe('a body over the limit', () => {
  /** A raw connection: everything received so far, and a wait for it to match. */
  async function connect(port: number) {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let closed = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    const close = once(socket, 'close').then(() => {
      closed = true;
    });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const until = async (condition: () => boolean) => {
      while (!condition()) {
        if (closed) throw new Error(`closed; received: ${received}`);
        await Promise.race([once(socket, 'data'), close]);
      }
    };
    return {
      socket,
      received: () => received,
      closed: () => closed,
      close,
      until,
      answered: (text: string) => until(() => received.includes(text)),
    };
  }
  const head = (length: string) =>
    `POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${length}\r\n\r\n`;

  it('is answered 413 at once, its rest discarded, and the connection kept for the next request', async () => {
    const { app } = build();
    const port = await listen(app, { port: 0, host: '127.0.0.1' });
    const client = await connect(port);
    const body = JSON.stringify({ blob: 'x'.repeat(100_000) });
    client.socket.write(head(`Content-Length: ${body.length}`));
    // Answered before the body is sent: a client still uploading can read it.
    await client.answered('"payload_too_large"');
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(client.received()).not.toMatch(/^connection: close$/im);

    client.socket.write(body);
    client.socket.write('GET /items/7 HTTP/1.1\r\nHost: x\r\n\r\n');
    await client.answered('{"id":"7"}');
    expect(client.closed()).toBe(false);
    client.socket.destroy();
  });

  it('closes the connection at once when Content-Length declares more than the drain bound', async () => {
    const { app } = build({ oversizedBodyDrain: { maxBytes: 1000, maxMs: 60_000 } });
    const port = await listen(app, { port: 0, host: '127.0.0.1' });
    const client = await connect(port);
    client.socket.write(head('Content-Length: 1001'));
    await client.close;
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(client.received()).toMatch(/^connection: close$/im);
  });

  it('closes the connection once more than the drain bound has been discarded', async () => {
    const { app } = build({ oversizedBodyDrain: { maxBytes: 1000, maxMs: 60_000 } });
    const port = await listen(app, { port: 0, host: '127.0.0.1' });
    const client = await connect(port);
    // Chunked, so no length is declared: the bound is counted as the body arrives.
    client.socket.write(head('Transfer-Encoding: chunked'));
    const chunk = `64\r\n${'x'.repeat(100)}\r\n`;
    client.socket.write(chunk);
    await client.answered('"payload_too_large"');
    let sent = 0;
    while (!client.closed() && sent < 100_000) {
      client.socket.write(chunk);
      sent += 100;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(client.closed()).toBe(true);
    expect(sent).toBeGreaterThan(1000);
  });

  it('closes the connection when the rest of the body does not arrive within the drain time', async () => {
    const { app } = build({ oversizedBodyDrain: { maxBytes: 1_000_000, maxMs: 200 } });
    const port = await listen(app, { port: 0, host: '127.0.0.1' });
    const client = await connect(port);
    const sentAt = Date.now();
    client.socket.write(head('Content-Length: 1000'));
    client.socket.write('x'.repeat(100));
    await client.answered('"payload_too_large"');
    await client.close;
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(190);
  });
});

describe('listen and closeOnce', () => {
  it('returns the port bound, and closeOnce closes once', async () => {
    const { app } = build();
    let closes = 0;
    app.addHook('onClose', async () => {
      closes += 1;
    });
    const port = await listen(app, { port: 0, host: '127.0.0.1' });
    expect(port).toBe((app.server.address() as net.AddressInfo).port);
    expect((await fetch(`http://127.0.0.1:${port}/items/1`)).status).toBe(200);
    const close = closeOnce(app);
    const first = close();
    expect(close()).toBe(first);
    await first;
    expect(closes).toBe(1);
  });

  it('closes the app, running its onClose hooks, when it cannot listen', async () => {
    const { app: holder } = build();
    const port = await listen(holder, { port: 0, host: '127.0.0.1' });
    const { app } = build();
    let closed = false;
    app.addHook('onClose', async () => {
      closed = true;
    });
    await expect(listen(app, { port, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
    expect(closed).toBe(true);
  });
});
