import type { ServerResponse } from 'node:http';
import { errorBody as errorBodySchema } from '@refract/contract';
import { singleFlight } from '@refract/core';
import type { Logger } from '@refract/observability';
import { type ContractApp, errorBody } from '@refract/service-kit';
import { z } from 'zod';
import type { AdminOverview } from '../overview.js';

export interface OverviewStreamOptions {
  overview: AdminOverview;
  /** A payload this often. */
  intervalMs: number;
  /** A comment line this often, so proxies keep an idle-looking stream open. */
  heartbeatMs: number;
  /** Open streams per token; one more is refused (429). */
  maxClientsPerToken: number;
  log: Logger;
}

const PARTS = ['projections', 'workers', 'relay'] as const;

/**
 * `/api/stream`: Server-Sent Events with `event: projections`, `workers` and
 * `relay`, one of each per interval. One reader feeds every client, so ten
 * open dashboards cost the database what one does; it runs only while a
 * client is connected. A part that cannot be read (Redis down) is sent as
 * `event: error` with the usual error body, the others still go out. Each
 * token may hold `maxClientsPerToken` streams: a leaked token or a runaway
 * tab cannot hold every socket of the server.
 */
export class OverviewStream {
  private readonly clients = new Set<ServerResponse>();
  /** Open streams per token name. */
  private readonly perToken = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Reads every part and sends it; a read still running when the next tick comes is not doubled. */
  private readonly push = singleFlight(() => this.read());
  private closed = false;

  constructor(private readonly options: OverviewStreamOptions) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Whether `token` may open one more stream. */
  admits(token: string): boolean {
    return (this.perToken.get(token) ?? 0) < this.options.maxClientsPerToken;
  }

  attach(response: ServerResponse, token: string): void {
    if (this.closed) {
      response.writeHead(503, { 'content-type': 'application/json', connection: 'close' });
      response.end(JSON.stringify(errorBody('shutting_down', 'the server is shutting down')));
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    this.clients.add(response);
    this.perToken.set(token, (this.perToken.get(token) ?? 0) + 1);
    response.on('close', () => {
      const left = (this.perToken.get(token) ?? 1) - 1;
      if (left === 0) this.perToken.delete(token);
      else this.perToken.set(token, left);
      this.clients.delete(response);
      if (this.clients.size === 0) this.stopTimers();
    });
    this.startTimers();
    void this.push();
  }

  /** Ends every stream (server shutdown); later clients get 503. Idempotent. */
  close(): void {
    this.closed = true;
    this.stopTimers();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private startTimers(): void {
    this.timer ??= setInterval(() => void this.push(), this.options.intervalMs);
    this.heartbeat ??= setInterval(
      () => this.broadcast(': heartbeat\n\n'),
      this.options.heartbeatMs,
    );
  }

  private stopTimers(): void {
    clearInterval(this.timer);
    clearInterval(this.heartbeat);
    this.timer = undefined;
    this.heartbeat = undefined;
  }

  private async read(): Promise<void> {
    const { overview } = this.options;
    const results = await Promise.allSettled([
      overview.projections(),
      overview.workers(),
      overview.relay(),
    ]);
    let text = '';
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        text += `event: ${PARTS[i]}\ndata: ${JSON.stringify(result.value)}\n\n`;
      } else {
        this.options.log.warn({ err: result.reason, part: PARTS[i] }, 'stream part unavailable');
        const body = errorBody('dependency_unavailable', `${PARTS[i]} cannot be read now`, {
          part: PARTS[i],
        });
        text += `event: error\ndata: ${JSON.stringify(body)}\n\n`;
      }
    });
    this.broadcast(text);
  }

  private broadcast(text: string): void {
    for (const client of this.clients) {
      if (!client.writableEnded) client.write(text);
    }
  }
}

/** Server-Sent Events: `projections`, `workers`, `relay` and `error` events (docs/api.md). */
const streamSchema = {
  description:
    'Server-Sent Events: event projections, workers and relay once per interval, whose data is the body of the matching endpoint; event error for a part that cannot be read.',
  response: {
    200: {
      description: 'text/event-stream',
      content: { 'text/event-stream': { schema: z.string() } },
    },
    401: errorBodySchema,
    403: errorBodySchema,
    429: errorBodySchema,
    503: errorBodySchema,
  },
};

export function registerStreamRoute(app: ContractApp, stream: OverviewStream): void {
  app.get('/api/stream', { schema: streamSchema }, (request, reply) => {
    // The auth hook names every token it lets in.
    const token = request.tokenName ?? 'anonymous';
    if (!stream.admits(token)) {
      request.log.warn({ tokenName: token }, 'stream refused: too many open for this token');
      reply
        .code(429)
        .send(
          errorBody(
            'too_many_streams',
            'this token has the most open streams allowed (ADMIN_STREAM_MAX_CLIENTS_PER_TOKEN): close one first',
          ),
        );
      return;
    }
    // The response is ours from here: fastify neither serialises nor ends it.
    reply.hijack();
    request.log.info('stream opened');
    reply.raw.on('close', () => request.log.info('stream closed'));
    stream.attach(reply.raw, token);
  });
}
