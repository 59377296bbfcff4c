import { createLogger, type Logger, type LogLevel } from '@refract/observability';
import { ConfigError } from './env.js';
import { startTracing, type Tracing } from './tracing.js';

/**
 * An uncaught exception or unhandled rejection is logged as fatal and the
 * process exits 1: its state is unknown, and a supervisor will restart it.
 */
function exitOnCrash(logger: Logger): void {
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });
}

/** The settings `runHttpService` reads from a service's config. */
export interface HttpServiceConfig {
  port: number;
  host: string;
  logLevel: LogLevel;
  logPretty: boolean;
  /** In-flight requests get this long to finish after SIGTERM before the process gives up. */
  shutdownTimeoutMs: number;
}

/** A started service, as `start` returns it. */
export interface HttpServer {
  /** The port actually bound (differs from the config's when that is 0). */
  port: number;
  /** Graceful stop; idempotent. */
  close(): Promise<void>;
  /**
   * For a service that listens before it is ready (a worker joining its
   * pool): resolves when it is, rejects when it cannot be. Then
   * `<name> ready` is logged, or the start is logged fatal and the server
   * closed, exit code 1.
   */
  started?: Promise<void>;
}

export interface HttpServiceOptions<
  C extends HttpServiceConfig,
  S extends HttpServer,
  A = undefined,
> {
  /** The logger's `service`, and the prefix of config errors and of the `<name> listening` line. */
  name: string;
  /** Parses the environment; throws a ConfigError when it is bad. */
  loadConfig: () => C;
  /**
   * Loads what the service runs (the application module) once the config is
   * parsed and before `start` opens any connection. Whatever it throws is
   * printed to standard error and the process exits 1: nothing is written.
   */
  loadApp?: (config: C) => Promise<A>;
  /** Opens what the service needs and listens; `app` is what `loadApp` returned. */
  start: (config: C, logger: Logger, app: A) => Promise<S>;
  /** Fields for the `<name> listening` line besides `host` and `port`. */
  listeningFields?: (config: C, server: S) => Record<string, unknown>;
}

/**
 * The process of an HTTP service: config, logger, start, and a graceful stop
 * on SIGTERM/SIGINT. A bad configuration or application module is printed
 * to standard error and exits 1; a failed start (or `started` rejecting) is
 * logged and exits 1, as does a stop that outlasts `shutdownTimeoutMs`.
 * Signals and exit codes are handled here and nowhere else.
 */
export async function runHttpService<
  C extends HttpServiceConfig,
  S extends HttpServer,
  A = undefined,
>(options: HttpServiceOptions<C, S, A>): Promise<void> {
  const { name } = options;
  let config: C;
  try {
    config = options.loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  let app: A;
  try {
    app = (await options.loadApp?.(config)) as A;
  } catch (error) {
    process.stderr.write(`${name}: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger({ service: name, level: config.logLevel, pretty: config.logPretty });
  exitOnCrash(logger);

  let tracing: Tracing | undefined;
  let server: S;
  try {
    // Before start, so the first request's spans are exported.
    tracing = await startTracing(name);
    if (tracing) logger.info({ url: tracing.endpoint }, 'exporting traces over OTLP');
    server = await options.start(config, logger, app);
  } catch (error) {
    logger.fatal({ err: error, port: config.port, host: config.host }, 'cannot start');
    process.exitCode = 1;
    return;
  }
  logger.info(
    { host: config.host, port: server.port, ...options.listeningFields?.(config, server) },
    `${name} listening`,
  );

  let stopping = false;
  const close = async () => {
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
    }
    // The spans of the last requests are still buffered: flushed within the deadline.
    await tracing?.shutdown().catch((error: unknown) => {
      logger.warn({ err: error }, 'could not flush traces');
    });
    clearTimeout(deadline);
    logger.info('stopped');
  };
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.info({ signal }, 'already shutting down');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    await close();
  };
  process.on('SIGTERM', (signal) => void stop(signal));
  process.on('SIGINT', (signal) => void stop(signal));

  // A start cut short by a signal is the stop's business, not a failure.
  server.started?.then(
    () => {
      if (!stopping) logger.info(`${name} ready`);
    },
    async (error: unknown) => {
      if (stopping) return;
      stopping = true;
      logger.fatal({ err: error }, 'cannot start');
      process.exitCode = 1;
      await close();
    },
  );
}
