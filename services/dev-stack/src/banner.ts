import { join } from 'node:path';
import { maskUrlPassword } from '@refract/observability';
import { REPO_ROOT } from './config.js';
import type { StackInfo } from './stack.js';

export interface BannerFields {
  writeApi: string;
  queryApi: string;
  workers: string;
  postgres: string;
  redis: string;
  demo: string;
  /** The admin dashboard's URL and where its token comes from. */
  dashboard: string;
  /** The admin token (the dashboard asks for it once; the CLI sends it). */
  adminToken: string;
  /** How to run the CLI against this stack. */
  cli: string;
  stop: string;
}

/**
 * What a developer needs once the stack is up, passwords masked. Logged as
 * one record (fields below) and, on a terminal, printed as this block.
 */
export function bannerFields(info: StackInfo, ratePerSecond: number, pid: number): BannerFields {
  const pg = info.postgres.embedded;
  return {
    writeApi: info.writeApiUrl,
    queryApi: info.queryApiUrl,
    workers:
      info.workerUrls.length === 0
        ? 'none (DEV_STACK_WORKERS=0)'
        : `${info.workerUrls.length} in pool "orders": ${info.workerUrls.join(', ')}`,
    postgres: `${maskUrlPassword(info.postgres.url)} ${
      pg ? `(embedded, data in ${pg.dataDir}${pg.created ? ', new' : ''})` : '(DATABASE_URL)'
    }`,
    redis: `${maskUrlPassword(info.redis.url)} key prefix "${info.redis.keyPrefix}" ${
      info.redis.pid === undefined ? '(REDIS_URL)' : '(local redis-server, not persisted)'
    }`,
    demo: ratePerSecond > 0 ? `${ratePerSecond} commands/s (DEMO_RATE_PER_SECOND)` : 'off',
    dashboard: `${info.adminUrl}/ (admin API under /api)`,
    adminToken: `${info.adminToken.token} ${
      info.adminToken.source.kind === 'env'
        ? '(ADMIN_TOKEN)'
        : `(kept in ${info.adminToken.source.path}${info.adminToken.source.created ? ', new' : ''})`
    }`,
    cli: cliHint(info),
    stop: `Ctrl-C, or kill -INT ${pid}; a second Ctrl-C forces`,
  };
}

export function formatBanner(fields: BannerFields): string {
  const rows: [string, string][] = [
    ['write-api', fields.writeApi],
    ['query-api', fields.queryApi],
    ['workers', fields.workers],
    ['postgres', fields.postgres],
    ['redis', fields.redis],
    ['demo', fields.demo],
    ['dashboard', fields.dashboard],
    ['token', fields.adminToken],
    ['cli', fields.cli],
    ['stop', fields.stop],
  ];
  const lines = rows.map(([name, value]) => `  ${name.padEnd(10)} ${value}`);
  const example =
    `  try        curl -s -X POST ${fields.writeApi}/commands/PlaceOrder ` +
    `-H 'content-type: application/json' -d '{"orderId":"hello-1","customerId":"customer-1"}'`;
  const read = `  then       curl -s '${fields.queryApi}/orders/hello-1?minPosition=<position from the answer>'`;
  return ['', 'Refract dev stack is up', ...lines, example, read, ''].join('\n');
}

/**
 * `pnpm refract status`, with what the CLI cannot find by itself: it reads
 * the token from `<repo>/.refract/admin-token` and talks to :4002 unless told.
 */
function cliHint(info: StackInfo): string {
  const source = info.adminToken.source;
  const found =
    source.kind === 'file' && source.path === join(REPO_ROOT, '.refract', 'admin-token');
  const env = found ? '' : `REFRACT_ADMIN_TOKEN=${info.adminToken.token} `;
  const url = info.adminUrl === 'http://127.0.0.1:4002' ? '' : ` --url ${info.adminUrl}`;
  return `${env}pnpm refract status${url}`;
}
