import { randomUUID } from 'node:crypto';
import { fnv1a32 } from '@refract/core';
import { EVENTS_CHANNEL, readPartitionCount } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import { type PartitionEntry, publishEntries, waitUntilReady } from '@refract/stream-bus';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { type Gap, planPublication, type VisibleEvent } from './plan.js';
import { parseSnapshot } from './snapshot.js';
import { SQL } from './sql.js';

export interface RelayOptions {
  databaseUrl: string;
  /** A Redis connection that fails fast while disconnected (see createRedisClient). */
  redis: Redis;
  /** Prefix of every Redis key. @defaultValue 'refract:' */
  keyPrefix?: string;
  /** Entries kept per partition stream (approximate). @defaultValue 100000 */
  windowSize?: number;
  /** Events read and published per round. @defaultValue 2000 */
  batchSize?: number;
  /** Relays with different names keep separate checkpoints and locks. @defaultValue 'main' */
  name?: string;
  /** Fallback poll when no notification arrives (lost NOTIFY). @defaultValue 1000 */
  pollIntervalMs?: number;
  /** How often a relay that is not the leader tries to become it. @defaultValue 1000 */
  leaderRetryMs?: number;
  logger?: Logger;
  /** Called after each published round, for metrics. */
  onPublished?: (events: number, durationMs: number) => void;
  /** Test hooks for fault injection. */
  hooks?: {
    /** Runs after XADD and before the checkpoint write; throwing simulates a crash there. */
    beforeCheckpoint?: (through: number) => Promise<void> | void;
  };
}

export interface RelayStatus {
  instanceId: string;
  leader: boolean;
  /** Every position up to here is published (or a final gap). */
  publishedPosition: number;
  /** The gap the relay is waiting on, if any, and for how long. */
  heldAt: { position: number; forMs: number } | null;
  redisAvailable: boolean;
}

/** Raised inside the loop to leave leadership and start over on a fresh connection. */
class ConnectionLost extends Error {}

/**
 * The relay: of all processes that run one, exactly one (holding a session
 * advisory lock) tails the event log in commit-safe order and publishes each
 * event to its partition stream with the position as the entry id. Its
 * checkpoint lives in Postgres.
 */
export class Relay {
  readonly instanceId = randomUUID();
  private readonly keyPrefix: string;
  private readonly windowSize: number;
  private readonly batchSize: number;
  private readonly name: string;
  private readonly pollIntervalMs: number;
  private readonly leaderRetryMs: number;
  private readonly log: Logger | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private closed: Promise<void> | undefined;
  private leader = false;
  private published = 0;
  private gap: Gap | null = null;
  private redisAvailable = true;
  private dirty = false;
  private wakeUp: (() => void) | undefined;

  constructor(private readonly options: RelayOptions) {
    this.keyPrefix = options.keyPrefix ?? 'refract:';
    this.windowSize = options.windowSize ?? 100_000;
    this.batchSize = options.batchSize ?? 2000;
    this.name = options.name ?? 'main';
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.leaderRetryMs = options.leaderRetryMs ?? 1000;
    this.log = options.logger?.child({
      component: 'relay',
      relay: this.name,
      instance: this.instanceId,
    });
  }

  /** Starts competing for leadership and, once leader, publishing. Returns at once. */
  start(): void {
    this.running ??= this.run();
  }

  status(): RelayStatus {
    return {
      instanceId: this.instanceId,
      leader: this.leader,
      publishedPosition: this.published,
      heldAt: this.gap ? { position: this.gap.from, forMs: Date.now() - this.gap.sinceMs } : null,
      redisAvailable: this.redisAvailable,
    };
  }

  /** Stops publishing and gives up leadership at once (the lock goes with the connection). Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      this.wake();
      await this.running;
      this.log?.info('relay stopped');
    })();
    return this.closed;
  }

  private wake(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  /** Sleeps until woken (a notification, close) or the timeout. */
  private async sleep(ms: number): Promise<void> {
    if (this.dirty || this.stopping) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wakeUp = undefined;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      const client = new pg.Client({
        connectionString: this.options.databaseUrl,
        application_name: `refract-relay-${this.name}`,
        keepAlive: true,
      });
      let lost: Error | undefined;
      const onLost = (error?: Error) => {
        lost ??= error ?? new Error('connection ended');
        this.wake();
      };
      client.on('error', onLost);
      client.on('end', () => onLost());
      try {
        await client.connect();
        const [classId, objId] = lockKey(this.name);
        const locked = await client.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock($1, $2) AS ok',
          [classId, objId],
        );
        if (failures > 0) this.log?.info('postgres reachable again');
        failures = 0;
        if (locked.rows[0]?.ok) {
          await this.lead(client, () => lost);
        } else {
          await client.end();
          await this.sleep(this.leaderRetryMs);
          this.dirty = false;
        }
      } catch (error) {
        if (this.stopping) break;
        failures += 1;
        // One line per outage, not per attempt.
        if (failures === 1) this.log?.warn({ err: error }, 'relay lost postgres; retrying');
        await this.sleep(Math.min(100 * 2 ** Math.min(failures, 5), 3000));
        this.dirty = false;
      } finally {
        if (this.leader) this.log?.info('relay leadership released');
        this.leader = false;
        this.gap = null;
        await client.end().catch(() => {});
      }
    }
  }

  private async lead(client: pg.Client, lost: () => Error | undefined): Promise<void> {
    this.leader = true;
    const partitions = await readPartitionCount(client);
    client.on('notification', () => this.wake());
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    // Drawing a gap's horizon commits an (empty) transaction; it need not
    // wait for a WAL flush. Nor does the checkpoint: after a database crash an
    // older checkpoint only makes the relay re-publish what Redis refuses.
    await client.query('SET synchronous_commit = off');
    const checkpoint = await client.query<{ position: number }>(SQL.loadCheckpoint, [this.name]);
    this.published = Number(checkpoint.rows[0]!.position);
    const last = await client.query<{ partition: number; last: string | null }>(SQL.lastPositions, [
      this.published,
      partitions,
    ]);
    const prevOf = new Array<number>(partitions).fill(0);
    for (const row of last.rows) prevOf[row.partition] = row.last === null ? 0 : Number(row.last);
    this.log?.info({ publishedPosition: this.published }, 'relay leadership acquired');
    // A fail-fast connection refuses commands while it is still connecting;
    // that is not an outage worth a warning.
    await waitUntilReady(this.options.redis, 5000);

    let redisFailures = 0;
    while (!this.stopping) {
      const failure = lost();
      if (failure) throw new ConnectionLost(failure.message);
      this.dirty = false;
      const started = performance.now();
      const read = await client.query<{
        snapshot: string;
        position: string | null;
        partition: number | null;
        envelope: string | null;
      }>(SQL.readAfter, [this.published, this.batchSize]);
      const snapshot = parseSnapshot(read.rows[0]!.snapshot);
      const rows: VisibleEvent[] = [];
      for (const row of read.rows) {
        if (row.position === null) continue;
        rows.push({
          position: Number(row.position),
          partition: row.partition!,
          envelope: row.envelope!,
        });
      }
      const plan = planPublication(this.published, rows, snapshot, this.gap, Date.now());
      if (plan.gap && plan.gap.horizon === null) {
        // Drawn after the read that saw the gap: above the id of every
        // transaction that could still fill it.
        const drawn = await client.query<{ xid: string }>(
          'SELECT pg_current_xact_id()::text AS xid',
        );
        plan.gap.horizon = BigInt(drawn.rows[0]!.xid);
        this.log?.debug({ position: plan.gap.from }, 'relay held by a gap');
      }
      if (plan.skipped.length > 0) {
        this.log?.info({ positions: plan.skipped }, 'gap is final (rolled back); skipping');
      }
      this.gap = plan.gap;

      if (plan.publish.length > 0) {
        const next = [...prevOf];
        const entries: PartitionEntry[] = plan.publish.map((row) => {
          const entry = {
            partition: row.partition,
            position: row.position,
            prev: next[row.partition]!,
            event: row.envelope,
          };
          next[row.partition] = row.position;
          return entry;
        });
        try {
          await publishEntries(this.options.redis, entries, {
            keyPrefix: this.keyPrefix,
            windowSize: this.windowSize,
          });
        } catch (error) {
          redisFailures += 1;
          if (redisFailures === 1) {
            this.redisAvailable = false;
            this.log?.warn({ err: error }, 'redis unavailable; relay retrying (appends continue)');
          }
          await this.sleep(Math.min(50 * 2 ** Math.min(redisFailures, 6), 2000));
          continue;
        }
        if (redisFailures > 0) {
          this.log?.info({ failedAttempts: redisFailures }, 'redis back; relay publishing again');
          redisFailures = 0;
          this.redisAvailable = true;
        }
        prevOf.splice(0, prevOf.length, ...next);
        await this.options.hooks?.beforeCheckpoint?.(plan.through);
      }
      if (plan.through > this.published) {
        await client.query(SQL.saveCheckpoint, [this.name, plan.through]);
        this.published = plan.through;
        if (plan.publish.length > 0) {
          this.options.onPublished?.(plan.publish.length, performance.now() - started);
        }
      }

      if (plan.gap) {
        // Held: the gap's transaction will commit (and notify) or end without
        // a trace; a short poll catches the second case.
        await this.sleep(Math.min(2 + (Date.now() - plan.gap.sinceMs) / 10, 50));
      } else if (rows.length < this.batchSize) {
        await this.sleep(this.pollIntervalMs);
      }
    }
  }
}

/** The advisory lock of a relay name: a fixed class id and a hash of the name. */
export function lockKey(name: string): [number, number] {
  return [0x52454c59, fnv1a32(name) | 0];
}
