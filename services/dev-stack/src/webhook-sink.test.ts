import { createLogger } from '@refract/observability';
import { collectLines, eventually, freePort } from '@refract/testing';
import { expect, it } from 'vitest';
import { startWebhookSink } from './webhook-sink.js';

it('answers each POST 204 and logs one line per delivery with its JSON body', async () => {
  const { lines, stream } = collectLines();
  const logger = createLogger({ service: 'dev-stack', destination: stream });
  const sink = await startWebhookSink(await freePort(), logger);
  try {
    const body = { key: 'shipped:o1', orderId: 'o1', trackingNumber: 'T-1' };
    const response = await fetch(sink.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(204);
    expect((await fetch(sink.url)).status).toBe(405);
    await eventually(() => expect(lines).toHaveLength(1));
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: 'webhook delivered',
      component: 'webhook-sink',
      path: '/webhooks',
      body,
    });
  } finally {
    await sink.close();
  }
});
