import { createLogger } from '@refract/observability';
import { type Config, ConfigError, loadConfig } from './config.js';
import { type QueryApiServer, startQueryApi } from './server.js';

/**
 * The process: config, logger, start, and a graceful stop on SIGTERM/SIGINT.
 * Signals and exit codes are handled here and nowhere else.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`query-api: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({
    service: 'query-api',
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

  let server: QueryApiServer;
  try {
    server = await startQueryApi(config, logger);
  } catch (error) {
    logger.fatal({ err: error, port: config.port, host: config.host }, 'cannot start');
    process.exitCode = 1;
    return;
  }
  logger.info(
    { host: config.host, port: server.port, partitions: server.partitions },
    'query-api listening',
  );

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await server.close();
    } catch (error) {
      logger.error({ err: error }, 'error while shutting down');
      process.exitCode = 1;
    } finally {
      clearTimeout(deadline);
    }
    logger.info('stopped');
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));
}

await main();
