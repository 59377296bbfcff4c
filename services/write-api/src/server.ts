import { EventStore } from '@refract/event-store';
import { orderCommands } from '@refract/example-orders';
import { createMetrics, type Logger, type Metrics } from '@refract/observability';
import { Relay, relayMetrics } from '@refract/relay';
import { closeOnce, type HttpServer, listen } from '@refract/service-kit';
import type { RedisClient } from '@refract/stream-bus';
import { createRedisClient } from '@refract/stream-bus';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import type { Config } from './config.js';
import { writeApiMetrics } from './metrics.js';

export interface WriteApiServer extends HttpServer {
  app: FastifyInstance;
  store: EventStore;
  /** The embedded relay, when RELAY_MODE=embedded. */
  relay: Relay | undefined;
  /**
   * Graceful stop: stop accepting, finish in-flight requests, answer queued
   * appends, give up relay leadership, close pools. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * Opens the store, starts the embedded relay (if configured), builds the
 * app and listens. main.ts adds only the process concerns: config errors,
 * signals, exit codes.
 */
export async function startWriteApi(
  config: Config,
  logger: Logger,
  metrics: Metrics = createMetrics(),
): Promise<WriteApiServer> {
  const store = await EventStore.open({
    databaseUrl: config.databaseUrl,
    poolSize: config.dbPoolSize,
    maxConcurrentTransactions: config.commitConcurrency,
    applicationName: 'refract-write-api',
    onCommit: writeApiMetrics(metrics).onCommit,
  });

  let relay: Relay | undefined;
  let redis: RedisClient | undefined;
  if (config.relay.mode === 'embedded') {
    let redisDown = false;
    redis = createRedisClient(config.relay.redisUrl, {
      name: 'refract-relay',
      // The relay logs outages once per outage; reconnect noise stays at debug.
      onError: (error) => {
        if (!redisDown) logger.debug({ err: error }, 'redis connection error');
        redisDown = true;
      },
    });
    redis.on('ready', () => {
      redisDown = false;
    });
    const holder: { relay?: Relay } = {};
    relay = new Relay({
      databaseUrl: config.databaseUrl,
      redis,
      keyPrefix: config.relay.keyPrefix,
      windowSize: config.relay.windowSize,
      batchSize: config.relay.batchSize,
      logger,
      onPublished: relayMetrics(
        metrics,
        () => holder.relay?.status(),
        () => holder.relay?.headPosition(),
      ),
    });
    holder.relay = relay;
    relay.start();
  }

  const app = buildApp({
    store,
    logger,
    metrics,
    commands: orderCommands,
    bodyLimitBytes: config.bodyLimitBytes,
    readyTimeoutMs: config.readyTimeoutMs,
  });
  // Runs once the server has stopped and in-flight requests are answered;
  // store.close() also waits for appends queued for group commit.
  app.addHook('onClose', async () => {
    await relay?.close();
    redis?.disconnect();
    await store.close();
  });

  const port = await listen(app, config);
  return {
    app,
    store,
    relay,
    port,
    close: closeOnce(app),
  };
}
