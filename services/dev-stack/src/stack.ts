import { join } from 'node:path';
import type { RefractApp } from '@refract/core';
import { migrate } from '@refract/event-store';
import { type Logger, maskUrlPassword } from '@refract/observability';
import { env as envBlocks } from '@refract/service-kit';
import { type AdminToken, ensureAdminToken } from './admin-token.js';
import type { Config } from './config.js';
import { type DemoRun, startDemoTraffic, streamOfCommand } from './demo-traffic.js';
import { choosePort, freePortsFrom } from './ports.js';
import { type EmbeddedPostgresInfo, startPostgres } from './postgres.js';
import { describeExit, type ExitStatus, killAll } from './processes.js';
import { startRedis } from './redis.js';
import { startService } from './service.js';
import { DEFAULT_RESTART_DELAYS, supervise } from './supervisor.js';
import { startWebhookSink } from './webhook-sink.js';

export interface StackInfo {
  writeApiUrl: string;
  queryApiUrl: string;
  /** The admin API and the dashboard (`/`). */
  adminUrl: string;
  adminToken: AdminToken;
  /** The application module every service runs. */
  app: { name: string; path: string; commands: string[] };
  /** Each pool of the application, with one URL per worker process. */
  pools: { pool: string; workerUrls: string[] }[];
  postgres: { url: string; embedded: EmbeddedPostgresInfo | undefined };
  redis: { url: string; pid: number | undefined; keyPrefix: string };
  /** The demos sending traffic; empty when the rate is 0 or the module has none. */
  demos: string[];
  demo: DemoRun | undefined;
}

export interface Stack extends StackInfo {
  /**
   * Stops everything in reverse start order: demo traffic, admin, query-api,
   * the workers, write-api (each SIGTERM, then waited for), Postgres, Redis.
   * Resolves true when every part stopped cleanly. Idempotent.
   */
  close(): Promise<boolean>;
  /** The forced stop: SIGKILL the children, immediate shutdown of Postgres. Does not wait. */
  kill(): void;
}

export interface StackEvents {
  /**
   * The running stack cannot go on (the caller stops the rest): Postgres or
   * Redis died, or a service crashed too often to be restarted again.
   */
  onFailure(reason: string): void;
}

/** The config once the application module is found: its path is absolute. */
export type StackConfig = Config & { appPath: string };

interface Part {
  name: string;
  close(): Promise<boolean>;
  kill(): void;
}

/**
 * Starts the stack for the application module `app` (loaded from
 * `config.appPath`, whose path every service is given): Redis (first: a
 * missing redis-server fails before a slow initdb), Postgres, migrations,
 * write-api, a worker pool per pool of the application, query-api, admin,
 * the application's demo traffic. Any part that dies
 * during the start fails it; whatever had started is stopped again before
 * the error is thrown. `signal` aborts the start the same way. Once started,
 * a service that dies is restarted (`supervise`), so one crashed worker does
 * not take the stack down; Postgres or Redis dying, or a service crashing
 * `crashLimit` times within the window, is `events.onFailure`.
 */
export async function startStack(
  config: StackConfig,
  app: RefractApp,
  logger: Logger,
  signal: AbortSignal,
  events: StackEvents,
): Promise<Stack> {
  const parts: Part[] = [];
  let started = false;
  let closing = false;
  const startFailed = new AbortController();
  const aborted = AbortSignal.any([signal, startFailed.signal]);
  const watch = (name: string, exited: Promise<ExitStatus> | undefined) => {
    void exited?.then((status) => {
      if (closing) return;
      const reason = `${name} ${describeExit(status)}`;
      if (started) events.onFailure(reason);
      else startFailed.abort(new Error(`${reason} while the stack was starting`));
    });
  };

  let closed: Promise<boolean> | undefined;
  const close = () => {
    closing = true;
    closed ??= (async () => {
      let clean = true;
      for (const part of [...parts].reverse()) {
        try {
          if (!(await part.close())) clean = false;
        } catch (error) {
          clean = false;
          logger.error({ err: error, part: part.name }, 'could not stop cleanly');
        }
      }
      return clean;
    })();
    return closed;
  };
  const kill = () => {
    closing = true;
    for (const part of parts) part.kill();
    killAll();
  };

  try {
    const redis = await startRedis({
      url: config.redisUrl,
      serverBin: config.redisServerBin,
      searchPath: config.childEnv.PATH ?? '',
      port: config.redisPort,
      workDir: config.dataDir,
      readyTimeoutMs: config.readyTimeoutMs,
      logger,
    });
    parts.push({
      name: 'redis-server',
      close: async () => {
        await redis.close(config.stopTimeoutMs);
        return true;
      },
      kill: () => redis.process?.kill(),
    });
    watch('redis-server', redis.process?.exited);
    throwIfAborted(aborted);

    const postgres = await startPostgres({
      url: config.databaseUrl,
      dataDir: join(config.dataDir, 'postgres'),
      port: config.postgresPort,
      runAsRoot: process.getuid?.() === 0,
      readyTimeoutMs: config.readyTimeoutMs,
      logger,
    });
    parts.push({
      name: 'postgres',
      close: async () => {
        await postgres.close(config.stopTimeoutMs);
        return true;
      },
      kill: () => postgres.kill(),
    });
    watch('embedded Postgres', postgres.exited);
    throwIfAborted(aborted);

    const migrated = await migrate({
      databaseUrl: postgres.url,
      partitions: config.partitions,
      log: (line) => logger.debug({ step: 'migrate' }, line),
    }).catch((error: unknown) => {
      throw new Error(
        `cannot migrate ${maskUrlPassword(postgres.url)}: ${(error as Error).message}`,
        { cause: error },
      );
    });
    logger.info(
      { applied: migrated.applied, partitions: migrated.partitions },
      migrated.applied.length === 0 ? 'schema up to date' : 'migrations applied',
    );
    throwIfAborted(aborted);

    // Reactors' webhooks land here unless WEBHOOK_SINK_URL names the user's own.
    let childEnv = config.childEnv;
    if (config.webhookPort) {
      const sink = await startWebhookSink(
        await choosePort(config.webhookPort, 'webhook sink (DEV_STACK_WEBHOOK_PORT)'),
        logger,
      );
      parts.push({
        name: 'webhook sink',
        close: async () => {
          await sink.close();
          return true;
        },
        // In this process: nothing to kill beyond it.
        kill: () => {},
      });
      childEnv = { ...childEnv, WEBHOOK_SINK_URL: sink.url };
      logger.info({ url: sink.url }, 'webhook sink listening');
    }

    const launch = async (
      name: string,
      packageName: string,
      port: number,
      portVariable: string,
      env: Record<string, string>,
    ) => {
      const options = {
        name,
        packageName,
        env,
        port,
        databaseUrl: postgres.url,
        redisUrl: redis.url,
        redisKeyPrefix: config.redisKeyPrefix,
        logLevel: config.logLevel,
        logPretty: config.logPretty,
        appPath: config.appPath,
        // At debug and trace, every line; the demo's requests are the point then.
        logDemoRequests: config.logLevel === 'debug' || config.logLevel === 'trace',
        baseEnv: childEnv,
        cwd: config.workDir,
        readyTimeoutMs: config.readyTimeoutMs,
        logger,
      };
      const portName = `${name} (${portVariable})`;
      await choosePort({ port, strict: true }, portName);
      const service = await startService({ ...options, signal: aborted });
      const supervisor = supervise({
        name,
        first: service.process,
        restart: async (signal, spawned) => {
          await choosePort({ port, strict: true }, portName);
          await startService({ ...options, signal, onSpawn: spawned });
        },
        policy: { ...config.supervision, ...DEFAULT_RESTART_DELAYS },
        logger: logger.child({ child: name }),
        restartable: (status) => {
          if (closing) return false;
          if (started) return true;
          startFailed.abort(
            new Error(`${name} ${describeExit(status)} while the stack was starting`),
          );
          return false;
        },
        onGiveUp: (reason) => {
          if (!closing) events.onFailure(reason);
        },
      });
      parts.push({
        name,
        close: async () => {
          const status = await supervisor.stop(config.stopTimeoutMs);
          // Not running (it crashed and its restart was called off): nothing to stop.
          const clean = !status || status.code === 0 || status.signal === 'SIGTERM';
          if (!clean) logger.warn({ exit: describeExit(status) }, `${name} did not stop cleanly`);
          return clean;
        },
        kill: () => supervisor.kill(),
      });
      throwIfAborted(aborted);
      return service;
    };

    const writeApi = await launch(
      'write-api',
      '@refract/write-api',
      config.writeApiPort,
      'WRITE_API_PORT',
      {
        WRITE_API_PORT: String(config.writeApiPort),
        RELAY_MODE: 'embedded',
      },
    );
    // The rest needs only write-api's schema and relay: start it side by side
    // (each one compiles its TypeScript at start-up, seconds apiece). Every
    // start settles before a failure is thrown, so close() stops them all.
    const adminToken = await ensureAdminToken(config.dataDir, config.adminToken);
    // The workers of every pool, one after another on WORKER_PORT, WORKER_PORT + 1, …
    const workerSlots = app.pools.flatMap((pool) =>
      Array.from({ length: config.workers }, (_, i) => ({ pool, i })),
    );
    const workerPorts = await freePortsFrom(config.workerPort, workerSlots.length);
    const starting = [
      ...workerSlots.map(({ pool, i }, slot) => {
        const port = workerPorts[slot]!;
        return launch(
          `projector-worker-${pool}-${i + 1}`,
          '@refract/projector-worker',
          port,
          'WORKER_PORT',
          {
            POOL: pool,
            WORKER_PORT: String(port),
            WORKER_HOST: '127.0.0.1',
          },
        );
      }),
      launch('query-api', '@refract/query-api', config.queryApiPort, 'QUERY_API_PORT', {
        QUERY_API_PORT: String(config.queryApiPort),
      }),
      launch('admin', '@refract/admin', config.adminPort, 'ADMIN_PORT', {
        ADMIN_PORT: String(config.adminPort),
        ADMIN_TOKEN: adminToken.token,
      }),
    ];
    const settled = await Promise.allSettled(starting);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const urls = settled.map(
      (result) => (result as PromiseFulfilledResult<{ url: string }>).value.url,
    );
    const workerUrls = urls.slice(0, workerSlots.length);
    const [queryApiUrl, adminUrl] = urls.slice(workerSlots.length) as [string, string];
    const pools = app.pools.map((pool) => ({
      pool,
      workerUrls: workerUrls.filter((_, slot) => workerSlots[slot]!.pool === pool),
    }));

    const demo =
      config.demo.ratePerSecond > 0 && app.demos.length > 0
        ? startDemoTraffic({
            baseUrl: writeApi.url,
            // The services run on loopback, where no token is needed; one the
            // user set for write-api (passed on with the environment) is sent.
            token: writeToken(config.childEnv),
            demos: app.demos,
            streamOf: streamOfCommand(app.commands),
            ...config.demo,
            runId: Date.now().toString(36),
            logger: logger.child({ part: 'demo' }),
          })
        : undefined;
    if (demo) {
      parts.push({
        name: 'demo traffic',
        close: async () => {
          await demo.close();
          return true;
        },
        kill: () => {},
      });
    } else if (app.demos.length === 0) {
      logger.info('demo traffic off: the application module declares no demo');
    } else {
      logger.info('demo traffic off (DEMO_RATE_PER_SECOND=0)');
    }

    started = true;
    return {
      writeApiUrl: writeApi.url,
      queryApiUrl,
      adminUrl,
      adminToken,
      app: { name: app.name, path: config.appPath, commands: app.commands.map((c) => c.type) },
      pools,
      postgres: { url: postgres.url, embedded: postgres.embedded },
      redis: { url: redis.url, pid: redis.process?.pid, keyPrefix: config.redisKeyPrefix },
      demos: demo ? app.demos.map((d) => d.name) : [],
      demo,
      close,
      kill,
    };
  } catch (error) {
    await close();
    // A part that died during the start explains the failure better than
    // what it caused next (e.g. "write-api was not ready").
    throw startFailed.signal.aborted ? startFailed.signal.reason : error;
  }
}

/** WRITE_API_TOKEN, else the first `write` token of REFRACT_API_TOKENS: the demo's credential. */
function writeToken(env: Record<string, string>): string | undefined {
  if (env.WRITE_API_TOKEN) return env.WRITE_API_TOKEN;
  const listed = envBlocks.apiTokens.safeParse(env.REFRACT_API_TOKENS ?? '');
  return listed.success ? listed.data.find((t) => t.scopes.includes('write'))?.token : undefined;
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new Error('the start was aborted');
  }
}
