import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST the sink received: its JSON body's `key`, and the body. */
export interface SinkDelivery {
  key: string;
  body: Record<string, unknown>;
}

/**
 * A local HTTP endpoint for reactors' effects in tests: records every POST
 * (JSON with a `key`), answers 200, or holds its answer (a request in
 * flight the test can kill the caller during) or fails it with a status.
 */
export interface WebhookSink {
  url: string;
  readonly deliveries: readonly SinkDelivery[];
  /** How many POSTs carried `key`. */
  count(key: string): number;
  /** The keys received, each once, sorted. */
  keys(): string[];
  /**
   * Holds the answer to the next POST whose key `matches`: `held` resolves
   * with its key once one is held; `release()` answers it (200).
   */
  hold(matches: (key: string) => boolean): { held: Promise<string>; release(): void };
  /** Answers the next `times` POSTs of `key` with `status` (recorded all the same). */
  fail(key: string, status: number, times?: number): void;
  close(): Promise<void>;
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const deliveries: SinkDelivery[] = [];
  const holds: {
    matches: (key: string) => boolean;
    take(key: string, answer: () => void): void;
  }[] = [];
  const failures = new Map<string, { status: number; times: number }>();
  const open = new Set<ServerResponse>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<
        string,
        unknown
      >;
      const key = String(body.key);
      deliveries.push({ key, body });
      const answer = (status = 200) => {
        open.delete(response);
        if (!response.writableEnded) response.writeHead(status).end();
      };
      open.add(response);
      const failure = failures.get(key);
      if (failure && failure.times > 0) {
        failure.times -= 1;
        answer(failure.status);
        return;
      }
      const index = holds.findIndex((h) => h.matches(key));
      if (index >= 0) {
        const [hold] = holds.splice(index, 1);
        hold!.take(key, () => answer());
        return;
      }
      answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/deliveries`,
    deliveries,
    count: (key) => deliveries.filter((d) => d.key === key).length,
    keys: () => [...new Set(deliveries.map((d) => d.key))].sort(),
    hold(matches) {
      let release = () => {};
      const held = new Promise<string>((resolve) => {
        holds.push({
          matches,
          take(key, answer) {
            release = answer;
            resolve(key);
          },
        });
      });
      return { held, release: () => release() };
    },
    fail(key, status, times = 1) {
      failures.set(key, { status, times });
    },
    async close() {
      for (const response of open) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
