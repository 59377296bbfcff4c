import { createLogger, createMetrics } from '@refract/observability';
import { Relay, relayMetrics } from '@refract/relay';
import { createRedisClient } from '@refract/stream-bus';
import Fastify from 'fastify';
import { loadConfig, type RelayServiceConfig } from './config.js';

/**
 * The relay as its own process. Several may run: one leads, the others wait
 * for its lock. A small HTTP server answers /healthz, /readyz (ready = this
 * process leads or is standing by with Postgres reachable) and /metrics.
 */
async function main(): Promise<void> {
  let config: RelayServiceConfig;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`relay: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({ service: 'relay', level: config.LOG_LEVEL });
  const metrics = createMetrics();
  const redis = createRedisClient(config.REDIS_URL, { name: 'refract-relay' });
  const holder: { relay?: Relay } = {};
  const relay = new Relay({
    databaseUrl: config.DATABASE_URL,
    redis,
    keyPrefix: config.REDIS_KEY_PREFIX,
    windowSize: config.RELAY_WINDOW_SIZE,
    batchSize: config.RELAY_BATCH_SIZE,
    logger,
    onPublished: relayMetrics(
      metrics,
      () => holder.relay?.status(),
      () => holder.relay?.headPosition(),
    ),
  });
  holder.relay = relay;
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
  await app.listen({ port: config.RELAY_PORT, host: config.RELAY_HOST });
  logger.info({ port: config.RELAY_PORT }, 'relay service listening');

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await app.close();
    await relay.close();
    redis.disconnect();
    logger.info('stopped');
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
}

await main();
