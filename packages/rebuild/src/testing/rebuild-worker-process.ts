/**
 * A rebuild worker as a process of its own, for tests that kill it. Its
 * options come as JSON in argv[2] (a test fixture, not a service: it has no
 * environment config); `config` is the application module whose table
 * projections it rebuilds, loaded as the services load it. Prints `ready`
 * once the worker runs; SIGTERM stops it gracefully.
 */
import { loadApp } from '@refract/app-loader';
import { isCounterProjection, type Projection } from '@refract/core';
import { createLogger } from '@refract/observability';
import { z } from 'zod';
import { startRebuildWorker } from '../jobs/rebuild-worker.js';

const options = z
  .object({
    config: z.string(),
    databaseUrl: z.string(),
    redisUrl: z.string(),
    keyPrefix: z.string(),
    workerId: z.string(),
    batchSize: z.number().int().positive(),
    replayConcurrency: z.number().int().positive(),
    lockDurationMs: z.number().int().positive(),
    stalledIntervalMs: z.number().int().positive(),
    progressIntervalMs: z.number().int().positive(),
  })
  .parse(JSON.parse(process.argv[2] ?? '{}'));

const app = await loadApp(options.config);
const worker = await startRebuildWorker({
  ...options,
  projections: app.projections.filter((p): p is Projection => !isCounterProjection(p)),
  logger: createLogger({ service: 'rebuild-worker-process', level: 'warn' }),
  heartbeatMs: 200,
  cancelPollMs: 50,
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
