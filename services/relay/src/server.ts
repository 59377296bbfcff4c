import { createMetrics, type Logger } from '@refract/observability';
import { Relay, relayMetrics } from '@refract/relay';
import { closeOnce, type HttpServer, listen } from '@refract/service-kit';
import { createRedisClient } from '@refract/stream-bus';
import Fastify from 'fastify';
import type { RelayServiceConfig } from './config.js';

/**
 * Starts competing for leadership and serves /healthz, /readyz (ready = this
 * process leads or stands by with Redis reachable) and /metrics. Closing
 * stops the server, then the relay (which gives up leadership), then Redis.
 * main.ts adds only the process concerns: config errors, signals, exit codes.
 */
export async function startRelay(config: RelayServiceConfig, logger: Logger): Promise<HttpServer> {
  const metrics = createMetrics();
  const redis = createRedisClient(config.redisUrl, { name: 'refract-relay' });
  const relay = new Relay({
    databaseUrl: config.databaseUrl,
    redis,
    keyPrefix: config.keyPrefix,
    windowSize: config.windowSize,
    batchSize: config.batchSize,
    logger,
  });
  relayMetrics(metrics, relay);
  relay.start();

  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const status = relay.status();
    return reply.code(status.redisAvailable ? 200 : 503).send({
      status: status.redisAvailable ? 'ready' : 'redis_unavailable',
      leader: status.leader,
      publishedPosition: status.publishedPosition,
    });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.contentType);
    return metrics.render();
  });
  app.addHook('onClose', async () => {
    await relay.close();
    redis.disconnect();
  });

  const port = await listen(app, config);
  return { port, close: closeOnce(app) };
}
