import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '@refract/observability';

/** Most bytes of one delivery read and logged: a notice, not an upload. */
const MAX_BODY = 64 * 1024;

export interface WebhookSink {
  url: string;
  close(): Promise<void>;
}

/**
 * A local webhook endpoint for the application's reactors (the orders
 * example's shipping notices): every POST is answered 204 and logged, one
 * line per delivery with its path and JSON body, so `pnpm start` shows what
 * a reactor sent. Its URL is handed to the services as WEBHOOK_SINK_URL.
 */
export async function startWebhookSink(port: number, logger: Logger): Promise<WebhookSink> {
  const log = logger.child({ component: 'webhook-sink' });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    request.on('end', () => {
      if (request.method !== 'POST') {
        response.writeHead(405, { allow: 'POST' }).end();
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Logged as the text it is.
      }
      log.info({ path: request.url, body, truncated: size > MAX_BODY }, 'webhook delivered');
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
