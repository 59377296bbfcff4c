import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { generateWorkload, orderProjections } from '@refract/example-orders';
import { createLogger } from '@refract/observability';
import { eventually } from '@refract/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendWorkload, caughtUp, startOrdersStack } from '../testing/orders-harness.js';
import { createRebuildQueue, type RebuildQueue } from './rebuild-queue.js';
import { startRebuildWorker } from './rebuild-worker.js';

/** The rebuild job's span joins the trace of its enqueue through the job data. */
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);

const logger = createLogger({ service: 'rebuild-trace-test', level: 'silent' });
let stack: Awaited<ReturnType<typeof startOrdersStack>>;
let queue: RebuildQueue;

beforeAll(async () => {
  stack = await startOrdersStack('rebuild_trace');
  queue = createRebuildQueue({
    store: stack.store,
    redisUrl: stack.ns.url,
    keyPrefix: stack.ns.prefix,
    projections: orderProjections,
    logger,
  });
  await appendWorkload(stack.store, [...generateWorkload({ events: 500, seed: 5 })]);
  await eventually(
    async () => expect(await caughtUp(stack.store, 'customer_stats', 1)).toBe(true),
    {
      timeoutMs: 60_000,
    },
  );
});

afterAll(async () => {
  await queue?.close();
  await stack?.close();
});

it('traces a rebuild job as a child of its enqueue, the context carried in the job data', async () => {
  const worker = await startRebuildWorker({
    databaseUrl: stack.db.url,
    redisUrl: stack.ns.url,
    keyPrefix: stack.ns.prefix,
    projections: orderProjections,
    logger,
    heartbeatMs: 200,
  });
  try {
    const { jobId } = await queue.enqueue('customer_stats');
    const job = await eventually(
      () => {
        const found = exporter.getFinishedSpans().find((span) => span.name === 'rebuild');
        expect(found).toBeDefined();
        return found!;
      },
      { timeoutMs: 60_000 },
    );
    const enqueue = exporter.getFinishedSpans().find((span) => span.name === 'rebuild enqueue')!;
    expect(enqueue.attributes['refract.projection']).toBe('customer_stats');
    expect(job.spanContext().traceId).toBe(enqueue.spanContext().traceId);
    expect(job.parentSpanContext?.spanId).toBe(enqueue.spanContext().spanId);
    expect(job.attributes).toMatchObject({
      'refract.projection': 'customer_stats',
      'refract.job': jobId,
    });
    const stored = await queue.queue.getJob(jobId);
    expect(stored?.data.traceparent).toBe(
      `00-${enqueue.spanContext().traceId}-${enqueue.spanContext().spanId}-01`,
    );
    await eventually(async () => expect((await queue.get(jobId))?.state).toBe('completed'));
  } finally {
    await worker.close();
  }
});
