/**
 * A stand-in service for process.e2e.test.ts, run as a real process:
 * runHttpService around a plain HTTP server whose failures FIXTURE_MODE picks.
 * Not part of the kit (tsconfig.build.json leaves it out).
 */
import { createServer } from 'node:http';
import { tracer } from '@refract/observability';
import { z } from 'zod';
import { logLevel, parse, port, positiveInt } from './env.js';
import { runHttpService } from './process.js';

const schema = z.object({
  FIXTURE_PORT: port().default(0),
  FIXTURE_SHUTDOWN_TIMEOUT_MS: positiveInt('a positive number of milliseconds').default(10_000),
  FIXTURE_MODE: z
    .enum([
      'ok',
      'fail-load',
      'fail-start',
      'hang-close',
      'fail-close',
      'throw',
      'reject',
      'late-ready',
      'never-ready',
      'fail-ready',
    ])
    .default('ok'),
  LOG_LEVEL: logLevel,
});

await runHttpService({
  name: 'fixture',
  loadConfig: () => {
    const c = parse(schema, process.env);
    return {
      port: c.FIXTURE_PORT,
      host: '127.0.0.1',
      logLevel: c.LOG_LEVEL,
      logPretty: false,
      shutdownTimeoutMs: c.FIXTURE_SHUTDOWN_TIMEOUT_MS,
      mode: c.FIXTURE_MODE,
    };
  },
  loadApp: async (config) => {
    if (config.mode === 'fail-load') throw new Error('app.config.ts: two projections are named x');
    return { name: 'fixture-app' };
  },
  start: async (config, logger, app) => {
    if (app.name !== 'fixture-app') throw new Error('start did not get what loadApp returned');
    if (config.mode === 'fail-start') throw new Error('cannot bind');
    // A span per request: exported only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    const server = createServer((_request, response) => {
      tracer().startSpan('fixture request').end();
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
    if (config.mode === 'throw') {
      setTimeout(() => {
        throw new Error('a bug');
      }, 50);
    }
    if (config.mode === 'reject') setTimeout(() => void Promise.reject(new Error('a bug')), 50);
    // A service that listens before it is ready, as a worker joining its pool.
    const readiness: Partial<Record<typeof config.mode, () => Promise<void>>> = {
      'late-ready': () => new Promise<void>((resolve) => setTimeout(resolve, 50)),
      'never-ready': () => new Promise<void>(() => {}),
      'fail-ready': () =>
        new Promise<void>((_, reject) => setTimeout(() => reject(new Error('cannot join')), 50)),
    };
    const started = readiness[config.mode]?.();
    return {
      port: (server.address() as { port: number }).port,
      started,
      close: async () => {
        logger.info('closing the server');
        if (config.mode === 'hang-close') return new Promise<void>(() => {});
        await new Promise((resolve) => server.close(resolve));
        if (config.mode === 'fail-close') throw new Error('cannot close');
      },
    };
  },
  listeningFields: (config) => ({ mode: config.mode }),
});
