import { join, relative } from 'node:path';
import { maskUrlPassword } from '@refract/observability';
import type { AddWorkerScript } from './add-worker.js';
import type { StackInfo } from './stack.js';

export interface BannerContext {
  ratePerSecond: number;
  pid: number;
  /** How the CLI is run where the stack was started: `refract`, or `pnpm refract` in the repository. */
  cli: string;
  /** Where the command was typed: the CLI looks for the token in its `.refract/`. */
  workDir: string;
  /** The script that adds a worker to a pool (none when the module has no pool). */
  addWorker?: AddWorkerScript;
}

export interface BannerFields {
  /** The application module's name and file. */
  app: string;
  writeApi: string;
  /** Where the module's commands are served, and their types. */
  commands: string;
  queryApi: string;
  /** One line per pool of the application. */
  workers: string[];
  postgres: string;
  redis: string;
  demo: string;
  /** The admin dashboard's URL and where its token comes from. */
  dashboard: string;
  /** The admin token (the dashboard asks for it once; the CLI sends it). */
  adminToken: string;
  /** How to run the CLI against this stack. */
  cli: string;
  /** The one command that adds a worker to a running pool, and where to watch the rebalance. */
  addWorker?: string;
  stop: string;
}

/**
 * What a developer needs once the stack is up, passwords masked. Logged as
 * one record (fields below) and, on a terminal, printed as this block.
 */
export function bannerFields(
  info: StackInfo,
  { ratePerSecond, pid, cli, workDir, addWorker }: BannerContext,
): BannerFields {
  const pg = info.postgres.embedded;
  return {
    app: `${info.app.name} (${info.app.path})`,
    writeApi: info.writeApiUrl,
    commands:
      info.app.commands.length === 0
        ? 'none in the module'
        : `POST ${info.writeApiUrl}/commands/{type}: ${info.app.commands.join(', ')}`,
    queryApi: info.queryApiUrl,
    workers:
      info.pools.length === 0
        ? ['none: the module has no projections']
        : info.pools.map(({ pool, workerUrls }) =>
            workerUrls.length === 0
              ? `none in pool "${pool}" (DEV_STACK_WORKERS=0)`
              : `${workerUrls.length} in pool "${pool}": ${workerUrls.join(', ')}`,
          ),
    postgres: `${maskUrlPassword(info.postgres.url)} ${
      pg ? `(embedded, data in ${pg.dataDir}${pg.created ? ', new' : ''})` : '(DATABASE_URL)'
    }`,
    redis: `${maskUrlPassword(info.redis.url)} key prefix "${info.redis.keyPrefix}" ${
      info.redis.pid === undefined ? '(REDIS_URL)' : '(local redis-server, not persisted)'
    }`,
    demo: demoLine(info.demos, ratePerSecond),
    dashboard: `${info.adminUrl}/ (admin API under /api)`,
    adminToken: `${info.adminToken.token} ${
      info.adminToken.source.kind === 'env'
        ? '(ADMIN_TOKEN)'
        : `(kept in ${info.adminToken.source.path}${info.adminToken.source.created ? ', new' : ''})`
    }`,
    cli: cliHint(info, cli, workDir),
    ...(addWorker && { addWorker: addWorkerLine(addWorker, workDir) }),
    stop: `Ctrl-C, or kill -INT ${pid}; a second Ctrl-C forces`,
  };
}

function demoLine(demos: readonly string[], ratePerSecond: number): string {
  if (ratePerSecond === 0) return 'off (DEMO_RATE_PER_SECOND=0)';
  if (demos.length === 0) return 'off: the application module declares no demo';
  return `${ratePerSecond} commands/s from ${demos.join(', ')} (DEMO_RATE_PER_SECOND)`;
}

export function formatBanner(fields: BannerFields): string {
  const rows: [string, string][] = [
    ['app', fields.app],
    ['write-api', fields.writeApi],
    ['commands', fields.commands],
    ['query-api', fields.queryApi],
    ...fields.workers.map((line, i): [string, string] => [i === 0 ? 'workers' : '', line]),
    ['postgres', fields.postgres],
    ['redis', fields.redis],
    ['demo', fields.demo],
    ['dashboard', fields.dashboard],
    ['token', fields.adminToken],
    ['cli', fields.cli],
    ...(fields.addWorker ? [['add worker', fields.addWorker] as [string, string]] : []),
    ['stop', fields.stop],
  ];
  const lines = rows.map(([name, value]) => `  ${name.padEnd(10)} ${value}`);
  return ['', 'Refract dev stack is up', ...lines, ''].join('\n');
}

/**
 * `refract status`, with what the CLI cannot find by itself: run where the
 * stack was started, it reads the token from `.refract/admin-token` there
 * and talks to :4002 unless told.
 */
function cliHint(info: StackInfo, cli: string, workDir: string): string {
  const source = info.adminToken.source;
  const found = source.kind === 'file' && source.path === join(workDir, '.refract', 'admin-token');
  const env = found ? '' : `REFRACT_ADMIN_TOKEN=${info.adminToken.token} `;
  const url = info.adminUrl === 'http://127.0.0.1:4002' ? '' : ` --url ${info.adminUrl}`;
  return `${env}${cli} status${url}`;
}

/**
 * The script as typed where the stack was started, with what it does: the
 * dashboard's Worker pools panel shows the partitions move to the new worker.
 */
function addWorkerLine({ path, pool, port }: AddWorkerScript, workDir: string): string {
  const shown = relative(workDir, path);
  const typed = shown.startsWith('..') ? path : `./${shown}`;
  return `${typed} [pool] [port] (default: pool "${pool}" on :${port}); watch the partitions move in the dashboard's Worker pools`;
}
