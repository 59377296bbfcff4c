import { type RefractApp, untilReachable } from '@refract/core';
import { EventStore } from '@refract/event-store';
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
 * Opens the store (reading through the application's upcasters), starts the
 * embedded relay (if configured), builds the app for the application's
 * commands and event types, and listens. main.ts adds only the process
 * concerns: loading the module, config errors, signals, exit codes.
 */
export async function startWriteApi(
  config: Config,
  app: RefractApp,
  logger: Logger,
  metrics: Metrics = createMetrics(),
): Promise<WriteApiServer> {
  // Started during a Postgres outage (a restart, a failover), it waits it
  // out instead of exiting; until then it is not listening.
  const store = await untilReachable(
    () =>
      EventStore.open({
        databaseUrl: config.databaseUrl,
        poolSize: config.dbPoolSize,
        maxConcurrentTransactions: config.commitConcurrency,
        applicationName: 'refract-write-api',
        upcasters: app.upcasters,
        onCommit: writeApiMetrics(metrics).onCommit,
        idempotencyKeyTtlSeconds: config.commandIdempotencyTtlSeconds,
        onIdempotencyKeySweep: (outcome) => {
          if ('error' in outcome) {
            logger.warn({ err: outcome.error }, 'deleting expired idempotency keys failed');
          } else if (outcome.deleted > 0) {
            logger.debug({ deleted: outcome.deleted }, 'expired idempotency keys deleted');
          }
        },
      }),
    {
      onRetry: (error, attempt, delayMs) =>
        logger.warn(
          { err: error, attempt, delayMs },
          'Postgres unavailable during start: retrying',
        ),
    },
  );

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
    relay = new Relay({
      databaseUrl: config.databaseUrl,
      redis,
      keyPrefix: config.relay.keyPrefix,
      windowSize: config.relay.windowSize,
      batchSize: config.relay.batchSize,
      logger,
    });
    relayMetrics(metrics, relay);
    relay.start();
  }

  const http = buildApp({
    store,
    logger,
    metrics,
    app,
    bodyLimitBytes: config.bodyLimitBytes,
    readyTimeoutMs: config.readyTimeoutMs,
    tokens: config.tokens,
  });
  // Runs once the server has stopped and in-flight requests are answered;
  // store.close() also waits for appends queued for group commit.
  http.addHook('onClose', async () => {
    await relay?.close();
    redis?.disconnect();
    await store.close();
  });

  const port = await listen(http, config);
  return {
    app: http,
    store,
    relay,
    port,
    close: closeOnce(http),
  };
}
