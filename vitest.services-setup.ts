// biome-ignore-all lint/suspicious/noUndeclaredEnvVars: vitest reads these, not a turbo task

import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, startRedis } from '@refract/dev-stack';
import { createLogger } from '@refract/observability';
import {
  freePort,
  postgresAnswers,
  redisAnswers,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
} from '@refract/testing';

// Tests that run anywhere: when nothing answers at the test Postgres or Redis
// URL, this starts what `pnpm start` starts (the embedded Postgres, a local
// redis-server) for the length of the run and stops it at the end, so the
// README's test command needs Node and `redis-server` only.
//
// The embedded Postgres takes a free port and its own user, so its URL is
// handed to the test workers through TEST_DATABASE_URL (they are forked after
// this runs and inherit the environment). redis-server takes the port of
// TEST_REDIS_URL when that is on the loopback, so the URL holds as it is.

const STOP_TIMEOUT_MS = 30_000;
const READY_TIMEOUT_MS = 60_000;

export default async function setup(): Promise<() => Promise<void>> {
  const logger = createLogger({ service: 'test-services', destination: process.stderr });
  const stops: Array<() => Promise<void>> = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop();
  };
  /** Hands the started server's URL to the test processes, and says so. */
  const serve = (variable: string, unanswered: string, url: string, what: string) => {
    process.env[variable] = url;
    logger.info({ variable, unanswered, url }, `nothing answered: ${what} serves this run`);
  };
  // Read again: each project runs this setup, and an earlier one may have set them.
  const databaseUrl = process.env.TEST_DATABASE_URL ?? TEST_DATABASE_URL;
  const redisUrl = process.env.TEST_REDIS_URL ?? TEST_REDIS_URL;
  try {
    if (!(await postgresAnswers(databaseUrl))) {
      const root = await mkdtemp(join(tmpdir(), 'refract-test-pg-'));
      stops.push(() => rm(root, { recursive: true, force: true }));
      // As root the cluster runs as the user postgres, which must enter the directory.
      await chmod(root, 0o755);
      const postgres = await startPostgres({
        url: undefined,
        dataDir: join(root, 'data'),
        port: { port: await freePort(), strict: true },
        runAsRoot: process.getuid?.() === 0,
        readyTimeoutMs: READY_TIMEOUT_MS,
        logger,
      });
      stops.push(() => postgres.close(STOP_TIMEOUT_MS));
      serve('TEST_DATABASE_URL', databaseUrl, postgres.url, 'the embedded Postgres');
    }
    if (!(await redisAnswers(redisUrl))) {
      const wanted = new URL(redisUrl);
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(wanted.hostname);
      const workDir = await mkdtemp(join(tmpdir(), 'refract-test-redis-'));
      stops.push(() => rm(workDir, { recursive: true, force: true }));
      const redis = await startRedis({
        url: undefined,
        serverBin: process.env.REDIS_SERVER_BIN ?? 'redis-server',
        searchPath: process.env.PATH ?? '',
        // Another host cannot be served here: a free local port and a new URL instead.
        port: { port: loopback ? Number(wanted.port || 6379) : 0, strict: loopback },
        workDir,
        readyTimeoutMs: READY_TIMEOUT_MS,
        logger,
      });
      stops.push(() => redis.close(STOP_TIMEOUT_MS));
      serve('TEST_REDIS_URL', redisUrl, redis.url, 'a local redis-server');
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
