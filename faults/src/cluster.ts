import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPool, migrate } from '@refract/event-store';
import { createRedisClient } from '@refract/stream-bus';
import {
  createTestDatabase,
  eventually,
  type RedisServer,
  type ServiceProcess,
  serviceMain,
  stablePort,
  startRedisServer,
  startServiceProcess,
  type TestDatabase,
} from '@refract/testing';
import type { Pool } from './pool.js';
import { PostgresServer } from './postgres-server.js';
import { SQL } from './sql.js';
import { TcpProxy } from './tcp-proxy.js';

/** The harness's own Postgres sessions carry this name, so terminating "all the others" spares them. */
export const HARNESS_APPLICATION_NAME = 'refract-faults';

export interface ClusterOptions {
  /** Where each child process's log goes (one file per process, restarts appended). */
  logDir: string;
  partitions: number;
  workers: number;
  leaseTtlMs: number;
  heartbeatMs: number;
  /** Entries kept per partition stream: small, so workers also fall behind the window. */
  windowSize: number;
  /** The admin service's bearer token (its rebuild API). */
  adminToken: string;
}

type Kind = 'write-api' | 'worker' | 'query-api' | 'admin';

/** A service's own way to Postgres and to Redis, where the network faults happen. */
export interface Links {
  postgres: TcpProxy;
  redis: TcpProxy;
}

/** One process slot, as an orchestrator sees it: restarted under the same name and port. */
export interface Member {
  name: string;
  kind: Kind;
  port: number;
  process: ServiceProcess | undefined;
  /** Set before the harness kills the current process, so its exit is not reported as a crash. */
  deliberate: boolean;
  starts: number;
  links: Links;
}

export interface UnexpectedExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  logFile: string;
}

/**
 * The system under test, from real processes: two write-apis (each hosting a
 * relay; one leads), a worker pool, a query-api, an admin (hosting the
 * rebuild worker), a private redis-server that can be killed and flushed, and
 * a Postgres of its own that can be stopped. Every service reaches Postgres
 * and Redis through proxies of its own (`links`), where the network faults
 * are injected.
 */
export class Cluster {
  readonly members: Member[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  readonly postgres = new PostgresServer();
  db!: TestDatabase;
  redis!: RedisServer;
  /** The harness's pool: spared by terminateBackends, used for every check. */
  pool!: Pool;
  private closing: Promise<void> | undefined;

  constructor(readonly options: ClusterOptions) {}

  get writeApis(): Member[] {
    return this.members.filter((m) => m.kind === 'write-api');
  }

  get workers(): Member[] {
    return this.members.filter((m) => m.kind === 'worker');
  }

  member(kind: 'query-api' | 'admin'): Member {
    return this.members.find((m) => m.kind === kind)!;
  }

  origin(member: Member): string {
    return `http://127.0.0.1:${member.port}`;
  }

  logFile(member: Member): string {
    return join(this.options.logDir, `${member.name}.log`);
  }

  async start(): Promise<void> {
    mkdirSync(this.options.logDir, { recursive: true });
    await this.postgres.start(join(this.options.logDir, 'postgres.log'));
    this.db = await createTestDatabase('faults', this.postgres.url);
    await migrate({ databaseUrl: this.db.url, partitions: this.options.partitions });
    this.pool = createPool({
      connectionString: this.db.url,
      max: 2,
      applicationName: HARNESS_APPLICATION_NAME,
    });
    this.redis = await startRedisServer();
    await this.configureRedis();
    for (const name of ['write-api-1', 'write-api-2']) await this.add(name, 'write-api');
    for (let i = 1; i <= this.options.workers; i++) await this.add(`worker-${i}`, 'worker');
    await this.add('query-api', 'query-api');
    await this.add('admin', 'admin');
    // Write-apis first: the workers' start-up waits for nothing, but the
    // query-api answers 503 until a worker has registered the projections.
    await Promise.all(this.members.map((member) => this.launch(member)));
  }

  /**
   * Small stream nodes, so that MAXLEN ~ trims close to the window: with
   * Redis's default of 100 entries per node a stream keeps up to 100 more.
   * Set again after every restart (the server starts with defaults).
   */
  async configureRedis(): Promise<void> {
    await this.withRedis((client) => client.config('SET', 'stream-node-max-entries', '10'));
  }

  /** A connection of the harness's own, straight to the server (no proxy). */
  private async withRedis(fn: (client: ReturnType<typeof createRedisClient>) => Promise<unknown>) {
    const client = createRedisClient(this.redis.url, { failFast: false });
    try {
      await fn(client);
    } finally {
      client.disconnect();
    }
  }

  private async add(name: string, kind: Kind): Promise<void> {
    const port = await stablePort();
    const postgresPort = Number(new URL(this.db.url).port);
    const redisPort = Number(new URL(this.redis.url).port);
    const links = {
      postgres: new TcpProxy(`${name}→postgres`, postgresPort),
      redis: new TcpProxy(`${name}→redis`, redisPort),
    };
    await links.postgres.start();
    await links.redis.start();
    this.members.push({
      name,
      kind,
      port,
      process: undefined,
      deliberate: false,
      starts: 0,
      links,
    });
  }

  /** Every proxy between a service and Postgres or Redis. */
  links(backend: keyof Links): TcpProxy[] {
    return this.members.map((m) => m.links[backend]);
  }

  private env(member: Member): Record<string, string> {
    const shared = {
      DATABASE_URL: member.links.postgres.rewrite(this.db.url),
      REDIS_URL: member.links.redis.rewrite(this.redis.url),
      REDIS_KEY_PREFIX: 'refract:',
      LOG_LEVEL: 'info',
      // The checks want every poison event parked with its stream behind it
      // while the rest goes on; a trip would pause both projections short of
      // the fold. A run parks a few dozen per projection version, well below.
      REFRACT_TRIP_AFTER_PARKED: '1000',
    };
    if (member.kind === 'query-api') {
      return {
        DATABASE_URL: shared.DATABASE_URL,
        LOG_LEVEL: 'info',
        QUERY_API_PORT: String(member.port),
        QUERY_API_HOST: '127.0.0.1',
        QUERY_API_DB_POOL_SIZE: '4',
      };
    }
    if (member.kind === 'admin') {
      return {
        ...shared,
        ADMIN_PORT: String(member.port),
        ADMIN_HOST: '127.0.0.1',
        ADMIN_TOKEN: this.options.adminToken,
        ADMIN_DB_POOL_SIZE: '3',
      };
    }
    if (member.kind === 'write-api') {
      return {
        ...shared,
        WRITE_API_PORT: String(member.port),
        WRITE_API_HOST: '127.0.0.1',
        WRITE_API_DB_POOL_SIZE: '4',
        RELAY_MODE: 'embedded',
        RELAY_WINDOW_SIZE: String(this.options.windowSize),
      };
    }
    return {
      ...shared,
      POOL: 'orders',
      WORKER_PORT: String(member.port),
      WORKER_HOST: '127.0.0.1',
      WORKER_LEASE_TTL_MS: String(this.options.leaseTtlMs),
      WORKER_HEARTBEAT_MS: String(this.options.heartbeatMs),
      WORKER_BATCH_SIZE: '200',
    };
  }

  /** Starts (or restarts) a member's process and waits until its /readyz answers 200. */
  async launch(member: Member): Promise<void> {
    const logFile = this.logFile(member);
    member.starts += 1;
    appendFileSync(logFile, `--- start ${member.starts} at ${new Date().toISOString()} ---\n`);
    const folder = member.kind === 'worker' ? 'projector-worker' : member.kind;
    const service = await startServiceProcess(
      serviceMain(folder),
      this.env(member),
      `${this.origin(member)}/readyz`,
      { timeoutMs: 60_000, logFile },
    );
    member.process = service;
    member.deliberate = false;
    void service.exited.then(() => {
      if (member.process !== service || member.deliberate) return;
      const { exitCode: code, signalCode: signal } = service.child;
      this.unexpectedExits.push({ name: member.name, code, signal, logFile });
    });
  }

  private readonly restarting = new Map<Member, Promise<void>>();

  /** Members whose process runs (not killed and waiting for its restart). */
  running(members: Member[]): Member[] {
    return members.filter((m) => !this.restarting.has(m));
  }

  /**
   * Starts a killed member again in the background, as an orchestrator
   * would: faults go on meanwhile (a tsx start takes seconds on a busy box).
   */
  restartLater(member: Member): void {
    const restart = this.launch(member).finally(() => this.restarting.delete(member));
    // A failed restart is reported by settleRestarts(), not as an unhandled rejection.
    restart.catch(() => {});
    this.restarting.set(member, restart);
  }

  /** Waits for the restarts under way; throws if one of them failed. */
  async settleRestarts(members: Member[] = this.members): Promise<void> {
    await Promise.all(members.map((m) => this.restarting.get(m)));
  }

  /** Sends `signal`; SIGKILL waits for the exit. */
  async signal(member: Member, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    const service = member.process;
    if (!service) throw new Error(`${member.name} is not running`);
    if (signal === 'SIGKILL') member.deliberate = true;
    service.child.kill(signal);
    if (signal === 'SIGKILL') await service.exited;
  }

  /** The write-api whose relay leads, from its metrics; waits for a leader (a takeover may be under way). */
  async relayLeader(timeoutMs: number): Promise<Member> {
    return eventually(
      async () => {
        for (const member of this.writeApis) {
          const response = await fetch(`${this.origin(member)}/metrics`).catch(() => undefined);
          if (response?.ok && /^refract_relay_leader 1$/m.test(await response.text())) {
            return member;
          }
        }
        throw new Error(`no write-api reports relay leadership within ${timeoutMs} ms`);
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  /** The partitions a worker reports owning, or none when it does not answer. */
  async partitionsOf(member: Member): Promise<number[]> {
    const response = await fetch(`${this.origin(member)}/readyz`, {
      signal: AbortSignal.timeout(2000),
    }).catch(() => undefined);
    if (!response?.ok) return [];
    const body = (await response.json()) as { partitions?: number[] };
    return body.partitions ?? [];
  }

  async flushRedis(): Promise<void> {
    await this.withRedis((client) => client.flushall());
  }

  /** The last stored position; retried, since the harness's connections die with Postgres restarts. */
  async headPosition(): Promise<number> {
    return eventually(
      async () => {
        const result = await this.pool.query<{ head: string }>(SQL.headPosition);
        return Number(result.rows[0]!.head);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }

  /** How many lines of these members' logs (every start of them) contain `text`. */
  countInLogs(members: Member[], text: string): number {
    let count = 0;
    for (const member of members) {
      const log = readFileSync(this.logFile(member), 'utf8');
      for (const line of log.split('\n')) if (line.includes(text)) count += 1;
    }
    return count;
  }

  async restartRedis(downtimeMs: number): Promise<void> {
    await this.redis.kill();
    await new Promise((resolve) => setTimeout(resolve, downtimeMs));
    await this.redis.restart();
    await this.configureRedis();
  }

  async terminateBackends(): Promise<number> {
    const result = await this.pool.query<{ terminated: number }>(SQL.terminateBackends, [
      HARNESS_APPLICATION_NAME,
    ]);
    return result.rows[0]!.terminated;
  }

  /** Every member's /readyz status, or the reason it has none. */
  async readiness(): Promise<Map<string, string>> {
    const answers = new Map<string, string>();
    for (const member of this.members) {
      const child = member.process?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) {
        answers.set(member.name, 'not running');
        continue;
      }
      const response = await fetch(`${this.origin(member)}/readyz`, {
        signal: AbortSignal.timeout(3000),
      }).catch((error: Error) => error);
      answers.set(
        member.name,
        response instanceof Error ? response.message : String(response.status),
      );
    }
    return answers;
  }

  /** Stops everything: SIGTERM with a grace period, then SIGKILL; drops the database. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // A restart under way would leave its process behind.
      await this.settleRestarts().catch(() => {});
      await Promise.all(
        this.members.map(async (member) => {
          const service = member.process;
          if (!service) return;
          member.deliberate = true;
          service.child.kill('SIGCONT');
          const timer = setTimeout(() => service.child.kill('SIGKILL'), 15_000);
          await service.stop();
          clearTimeout(timer);
        }),
      );
      await this.pool?.end().catch(() => {});
      await Promise.all(
        this.members.flatMap((m) => [m.links.postgres.close(), m.links.redis.close()]),
      );
      await this.redis?.kill();
      await this.postgres.stop();
    })();
    return this.closing;
  }
}
