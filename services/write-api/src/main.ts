import { EventStore } from '@refract/event-store';
import { orderCommands } from '@refract/example-orders';
import { createLogger, createMetrics } from '@refract/observability';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { writeApiMetrics } from './metrics.js';

/**
 * The process: config, logger, metrics, store, app, listen, and a graceful
 * stop on SIGTERM/SIGINT. Everything else is in buildApp so tests need no
 * process. Signals are handled here and nowhere else.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`write-api: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({
    service: 'write-api',
    level: config.logLevel,
    pretty: config.logPretty,
  });
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });

  const metrics = createMetrics();
  let store: EventStore;
  try {
    store = await EventStore.open({
      databaseUrl: config.databaseUrl,
      poolSize: config.dbPoolSize,
      applicationName: 'refract-write-api',
      onCommit: writeApiMetrics(metrics).onCommit,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'cannot open the event store');
    process.exitCode = 1;
    return;
  }

  const app = buildApp({
    store,
    logger,
    metrics,
    commands: orderCommands,
    bodyLimitBytes: config.bodyLimitBytes,
    readyTimeoutMs: config.readyTimeoutMs,
  });
  // Runs once the server has stopped and in-flight requests have been
  // answered; close() also waits for appends queued for group commit.
  app.addHook('onClose', async () => {
    await store.close();
  });

  let stopping: Promise<void> | undefined;
  const stop = (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return stopping;
    }
    stopping = (async () => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      const deadline = setTimeout(() => {
        logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out');
        process.exit(1);
      }, config.shutdownTimeoutMs);
      deadline.unref();
      try {
        await app.close();
      } catch (error) {
        logger.error({ err: error }, 'error while shutting down');
        process.exitCode = 1;
      } finally {
        // A no-op when the onClose hook already ran; closes the pool if it did not.
        await store.close().catch(() => {});
        clearTimeout(deadline);
      }
      logger.info('stopped');
    })();
    return stopping;
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    logger.fatal({ err: error, port: config.port, host: config.host }, 'cannot listen');
    await store.close().catch(() => {});
    process.exitCode = 1;
    return;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ host: config.host, port }, 'write-api listening');
}

await main();
