import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { freePort, killProcess, waitForPing } from './redis-server.js';

const SLOTS = 16384;

export interface RedisClusterOptions {
  /** Master nodes, each given an equal share of the 16384 slots. @defaultValue 3 */
  masters?: number;
}

export interface RedisCluster {
  /** `127.0.0.1:<port>` of every master, in slot order. */
  nodes: string[];
  /** The seed URL Refract reads: `redis+cluster://127.0.0.1:<port>,…`. */
  url: string;
  /** The client port of every master, in slot order. */
  ports: number[];
  /** How many keys matching a SCAN pattern each master holds, in slot order. */
  keysPerMaster(match: string): Promise<number[]>;
  /**
   * Errors the nodes answered since the start or the last resetStats(), by
   * prefix, summed over the masters (INFO errorstats): `{ CROSSSLOT: 1 }`.
   */
  errorStats(): Promise<Record<string, number>>;
  resetStats(): Promise<void>;
  /** FLUSHALL on every master: what a whole cluster losing its data looks like. */
  flushAll(): Promise<void>;
  /** Kills every node (SIGKILL, nothing saved) and deletes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A private Redis Cluster of `masters` redis-server processes on loopback
 * ports (the system binary, or `REDIS_SERVER_BIN`; never a download), no
 * replicas, no persistence. Slots are assigned with CLUSTER ADDSLOTSRANGE and
 * the nodes joined with CLUSTER MEET; resolves once every node reports
 * `cluster_state:ok` and knows every other.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const binary = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const dir = await mkdtemp(join(tmpdir(), 'refract-cluster-'));
  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      process.off('exit', killAll);
      for (const client of clients) client.disconnect();
      await Promise.all(children.map(killProcess));
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  // A test process that dies without stop() must not leave servers behind.
  const killAll = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.on('exit', killAll);
  try {
    const ports: number[] = [];
    const busPorts: number[] = [];
    while (ports.length < masters) {
      // The bus port is chosen too: the default (port + 10000) may be taken or past 65535.
      const [port, bus] = [await freePort(), await freePort()];
      if (port === bus || ports.includes(port) || ports.includes(bus)) continue;
      if (busPorts.includes(port) || busPorts.includes(bus)) continue;
      ports.push(port);
      busPorts.push(bus);
    }
    for (const [i, port] of ports.entries()) {
      children.push(
        spawn(
          binary,
          [
            '--port',
            String(port),
            '--cluster-port',
            String(busPorts[i]),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, `nodes-${port}.conf`),
            '--cluster-node-timeout',
            '5000',
            '--dir',
            dir,
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    await Promise.all(ports.map((port) => waitForPing(port)));
    for (const port of ports) {
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      clients.push(client);
    }
    for (const [i, client] of clients.entries()) {
      const first = Math.floor((i * SLOTS) / masters);
      const last = Math.floor(((i + 1) * SLOTS) / masters) - 1;
      await client.call('CLUSTER', 'ADDSLOTSRANGE', String(first), String(last));
    }
    for (const [i, port] of ports.entries()) {
      if (i === 0) continue;
      await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(port), String(busPorts[i]));
    }
    await eventually(
      async () => {
        for (const client of clients) {
          const info = String(await client.call('CLUSTER', 'INFO'));
          if (
            !info.includes('cluster_state:ok') ||
            !info.includes(`cluster_known_nodes:${masters}`)
          ) {
            throw new Error(`redis cluster not ready:\n${info}`);
          }
        }
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    const each = <T>(fn: (client: Redis) => Promise<T>) => Promise.all(clients.map(fn));
    return {
      nodes,
      ports,
      url: `redis+cluster://${nodes.join(',')}`,
      keysPerMaster: (match) => each((client) => countKeys(client, match)),
      errorStats: async () => {
        const totals: Record<string, number> = {};
        for (const info of await each((client) => client.info('errorstats'))) {
          for (const [, prefix, count] of info.matchAll(/^errorstat_(\w+):count=(\d+)/gm)) {
            totals[prefix!] = (totals[prefix!] ?? 0) + Number(count);
          }
        }
        return totals;
      },
      resetStats: async () => {
        await each((client) => client.config('RESETSTAT'));
      },
      flushAll: async () => {
        await each((client) => client.flushall());
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function countKeys(client: Redis, match: string): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    count += keys.length;
    cursor = next;
  } while (cursor !== '0');
  return count;
}
