import { randomUUID } from 'node:crypto';
import { backoffDelayMs, fnv1a32 } from '@refract/core';
import { EVENTS_CHANNEL, readHeadPosition, readPartitionCount } from '@refract/event-store';
import {
  eventsSpanPlacement,
  inSpan,
  type Logger,
  type Span,
  SpanKind,
  SpanStatusCode,
} from '@refract/observability';
import type { RedisClient } from '@refract/stream-bus';
import { type PartitionEntry, publishEntries, waitUntilReady } from '@refract/stream-bus';
import pg from 'pg';
import { type Gap, type Plan, planPublication, type VisibleEvent } from './plan.js';
import { parseSnapshot, type SnapshotBounds } from './snapshot.js';
import { SQL } from './sql.js';

export interface RelayOptions {
  databaseUrl: string;
  /** A Redis connection that fails fast while disconnected (see createRedisClient). */
  redis: RedisClient;
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
  /** Test hooks for fault injection. */
  hooks?: {
    /** Runs after XADD and before the checkpoint write; throwing simulates a crash there. */
    beforeCheckpoint?: (through: number) => Promise<void> | void;
    /** Runs after each try for leadership: a test's sign that a standby had its chance. */
    afterLeaderAttempt?: (won: boolean) => void;
    /** Runs after each round as leader: a test's sign that the relay looked again. */
    afterRound?: () => void;
  };
}

/** Told of each round that published events: how many, and how long the round took. */
type PublishedListener = (events: number, durationMs: number) => void;

export interface RelayStatus {
  instanceId: string;
  leader: boolean;
  /** Every position up to here is published (or a final gap). */
  publishedPosition: number;
  /** The gap the relay is waiting on, if any, and for how long. */
  heldAt: { position: number; forMs: number } | null;
  redisAvailable: boolean;
}

/** How long a relay that ran out of events waits for more before it writes its checkpoint alone. */
const IDLE_CHECKPOINT_DELAY_MS = 5;

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
  private waiters: (() => void)[] = [];
  private readonly publishedListeners: PublishedListener[] = [];
  /** A one-connection pool for scrapes, apart from the leader's session so a scrape never waits behind a round. */
  private headPool: pg.Pool | undefined;

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

  /** Calls `listener` after each round that published events (for metrics: `relayMetrics`). */
  observePublished(listener: PublishedListener): void {
    this.publishedListeners.push(listener);
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

  /**
   * The highest committed position in the log, read when asked (for the lag
   * metric on scrape), never in the publishing loop.
   */
  async headPosition(): Promise<number> {
    if (this.stopping) return this.published;
    if (!this.headPool) {
      this.headPool = new pg.Pool({
        connectionString: this.options.databaseUrl,
        max: 1,
        application_name: `refract-relay-${this.name}-metrics`,
        idleTimeoutMillis: 30_000,
      });
      // An idle connection dropped by an outage: the next scrape reconnects.
      this.headPool.on('error', () => {});
    }
    return readHeadPosition(this.headPool);
  }

  /** Stops publishing and gives up leadership at once (the lock goes with the connection). Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.stopping = true;
      this.wake();
      await this.running;
      await this.headPool?.end().catch(() => {});
      this.log?.info('relay stopped');
    })();
    return this.closed;
  }

  private wake(): void {
    this.dirty = true;
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  /** Resolves on the next wake (a notification, a lost connection, close), at once if one is pending. */
  private woken(): Promise<void> {
    if (this.dirty || this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Waits until woken (notification, lost connection, close) or the timeout. */
  private async idle(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.woken(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
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
        this.options.hooks?.afterLeaderAttempt?.(locked.rows[0]?.ok === true);
        if (locked.rows[0]?.ok) {
          await this.lead(client, () => lost);
        } else {
          await client.end();
          await this.idle(this.leaderRetryMs);
          this.dirty = false;
        }
      } catch (error) {
        if (this.stopping) break;
        failures += 1;
        // One line per outage, not per attempt.
        if (failures === 1) this.log?.warn({ err: error }, 'relay lost postgres; retrying');
        // Jittered: standbys lose Postgres together and should not reconnect in step.
        await this.idle(backoffDelayMs(failures, { baseMs: 200, maxMs: 3000 }));
        this.dirty = false;
      } finally {
        if (this.leader) this.log?.info('relay leadership released');
        this.leader = false;
        this.gap = null;
        await client.end().catch(() => {});
      }
    }
  }

  /**
   * Publishes while this session holds the lock: each round reads the events
   * after what Redis holds, plans what may go out, publishes it and decides
   * when the checkpoint is written.
   */
  private async lead(client: pg.Client, lost: () => Error | undefined): Promise<void> {
    const lead = await this.takeLead(client);
    while (!this.stopping) {
      const failure = lost();
      if (failure) throw new ConnectionLost(failure.message);
      const read = await this.readRound(lead);
      const plan = this.planRound(read);
      const full = read.rows.length >= this.batchSize;
      if (await this.publishRound(lead, plan, full)) {
        await this.checkpointRound(lead, plan, full, read.startedAt);
      }
      this.options.hooks?.afterRound?.();
    }
    // A graceful stop leaves the checkpoint where Redis is, so the next
    // leader starts there.
    if (lead.read) await lead.read.result;
    const final = this.unsaved(lead);
    if (final !== null && !lost()) await this.saveCheckpoint(client, final);
  }

  /** Sets the session up for leading and loads where publication stands. */
  private async takeLead(client: pg.Client): Promise<Leadership> {
    this.leader = true;
    const partitions = await readPartitionCount(client);
    client.on('notification', () => this.wake());
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    // Drawing a gap's horizon commits an (empty) transaction; it need not
    // wait for a WAL flush. Nor does the checkpoint: after a database crash an
    // older checkpoint only makes the relay re-publish what Redis refuses.
    await client.query('SET synchronous_commit = off');
    // The round's read is a prepared statement, parsed and planned once for
    // the session instead of once per round. Its plan must not depend on how
    // big the log was when the session started: every access of the relay's
    // session is by key, so table scans are ruled out.
    await client.query('SET enable_seqscan = off');
    const loaded = await client.query<{ position: number }>(SQL.loadCheckpoint, [this.name]);
    this.published = Number(loaded.rows[0]!.position);
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
    return { client, prevOf, saved: this.published, read: undefined, redisFailures: 0 };
  }

  /** The position to write as the checkpoint, when it trails what Redis holds. */
  private unsaved(lead: Leadership): number | null {
    return lead.saved < this.published ? this.published : null;
  }

  /** The events after what Redis holds: the read sent ahead last round, or a new one. */
  private async readRound(lead: Leadership): Promise<ReadResult> {
    lead.read ??= this.startRead(lead.client, this.published, this.unsaved(lead));
    const read = await lead.read.result;
    lead.read = undefined;
    if (read.savedThrough !== null) lead.saved = Math.max(lead.saved, read.savedThrough);
    return read;
  }

  /** What of the read may be published now, and the gap the relay is held at. */
  private planRound({ rows, snapshot }: ReadResult): Plan {
    const plan = planPublication(this.published, rows, snapshot, this.gap, Date.now());
    if (plan.skipped.length > 0) {
      this.log?.info({ positions: plan.skipped }, 'gap is final (rolled back); skipping');
    }
    this.gap = plan.gap;
    return plan;
  }

  /**
   * XADDs the plan's events with their `prev` links and draws a new gap's
   * horizon. False when Redis refused them: the round is read again after a
   * backoff.
   */
  private async publishRound(lead: Leadership, plan: Plan, full: boolean): Promise<boolean> {
    if (plan.publish.length === 0) {
      await this.drawHorizon(lead.client, plan.gap);
      return true;
    }
    const { parent, links } = eventsSpanPlacement(
      plan.publish.map((row) =>
        row.traceparent
          ? { traceparent: row.traceparent, tracestate: row.tracestate ?? undefined }
          : undefined,
      ),
    );
    return inSpan(
      'publish',
      {
        parent,
        links,
        kind: SpanKind.PRODUCER,
        attributes: {
          'refract.events': plan.publish.length,
          'refract.first_position': plan.publish[0]!.position,
          'refract.last_position': plan.through,
        },
      },
      (span) => this.publishPlanned(lead, plan, full, span),
    );
  }

  private async publishPlanned(
    lead: Leadership,
    plan: Plan,
    full: boolean,
    span: Span,
  ): Promise<boolean> {
    const next = [...lead.prevOf];
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
    const xadd = publishEntries(this.options.redis, entries, {
      keyPrefix: this.keyPrefix,
      windowSize: this.windowSize,
    }).then(
      () => null,
      (error: unknown) => error ?? new Error('publish failed'),
    );
    await this.drawHorizon(lead.client, plan.gap);
    // While the XADDs are in flight, the next read goes out as soon as
    // there is more to read (a full batch, a notification). It reads
    // after this round's positions but saves only what Redis already
    // acknowledged; if the XADDs fail, its rows are dropped.
    if (!full) await Promise.race([xadd, this.woken()]);
    if (!this.stopping && (full || this.dirty)) {
      lead.read = this.startRead(lead.client, plan.through, this.unsaved(lead));
    }
    const error = await xadd;
    if (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: 'redis refused the entries' });
      lead.read = undefined;
      lead.redisFailures += 1;
      if (lead.redisFailures === 1) {
        this.redisAvailable = false;
        this.log?.warn({ err: error }, 'redis unavailable; relay retrying (appends continue)');
      }
      await this.idle(backoffDelayMs(lead.redisFailures, { baseMs: 100, maxMs: 2000 }));
      return false;
    }
    if (lead.redisFailures > 0) {
      this.log?.info({ failedAttempts: lead.redisFailures }, 'redis back; relay publishing again');
      lead.redisFailures = 0;
      this.redisAvailable = true;
    }
    lead.prevOf = next;
    await this.options.hooks?.beforeCheckpoint?.(plan.through);
    return true;
  }

  /**
   * Moves what Redis holds to the plan's end, then decides when the
   * checkpoint is written: by the next read when one is out or due at once,
   * by the short poll of a held gap, or alone once the relay is idle.
   */
  private async checkpointRound(
    lead: Leadership,
    plan: Plan,
    full: boolean,
    startedAt: number,
  ): Promise<void> {
    if (plan.through > this.published) {
      this.published = plan.through;
      if (plan.publish.length > 0) {
        const durationMs = performance.now() - startedAt;
        for (const listener of this.publishedListeners) listener(plan.publish.length, durationMs);
      }
    }
    if (lead.read || full) return;
    if (plan.gap) {
      // Held: the gap's transaction will commit (and notify) or end without
      // a trace; a short poll catches the second case. The poll's read
      // carries the checkpoint.
      await this.idle(Math.min(2 + (Date.now() - plan.gap.sinceMs) / 10, 50));
      return;
    }
    const checkpoint = this.unsaved(lead);
    if (checkpoint !== null) {
      // Under load the next notification is usually a moment away and
      // its read carries the checkpoint; a write now would only hold
      // that read up. Written alone once the relay is really idle.
      await this.idle(IDLE_CHECKPOINT_DELAY_MS);
      if (this.dirty || this.stopping) return;
      await this.saveCheckpoint(lead.client, checkpoint);
      lead.saved = checkpoint;
    }
    await this.idle(this.pollIntervalMs);
  }

  private async saveCheckpoint(client: pg.Client, position: number): Promise<void> {
    await client.query(SQL.saveCheckpoint, [this.name, position]);
  }

  /**
   * Gives a newly seen gap its horizon: a transaction id drawn after the read
   * that saw the gap, so above the id of every transaction that could still
   * fill it.
   */
  private async drawHorizon(client: pg.Client, gap: Gap | null): Promise<void> {
    if (!gap || gap.horizon !== null) return;
    const drawn = await client.query<{ xid: string }>('SELECT pg_current_xact_id()::text AS xid');
    gap.horizon = BigInt(drawn.rows[0]!.xid);
    this.log?.debug({ position: gap.from }, 'relay held by a gap');
  }

  /**
   * Sends the next read at once (the connection queues it behind any query
   * in flight). Clears `dirty`: a notification from here on asks for
   * another read.
   */
  private startRead(client: pg.Client, after: number, checkpoint: number | null): InFlightRead {
    this.dirty = false;
    const startedAt = performance.now();
    // Named: planned once per session (see enable_seqscan in lead()).
    const result = client
      .query<{
        snapshot: string;
        position: string | null;
        partition: number | null;
        envelope: string | null;
        traceparent: string | null;
        tracestate: string | null;
      }>({
        name: 'refract-relay-read-after',
        text: SQL.readAfter,
        values: [after, this.batchSize, this.name, checkpoint],
      })
      .then((read) => {
        const rows: VisibleEvent[] = [];
        for (const row of read.rows) {
          if (row.position === null) continue;
          rows.push({
            position: Number(row.position),
            partition: row.partition!,
            envelope: row.envelope!,
            traceparent: row.traceparent,
            tracestate: row.tracestate,
          });
        }
        return {
          rows,
          snapshot: parseSnapshot(read.rows[0]!.snapshot),
          savedThrough: checkpoint,
          startedAt,
        };
      });
    // A read dropped (its round's XADDs failed) or left in flight when the
    // connection goes may fail with nobody awaiting it.
    result.catch(() => {});
    return { result };
  }
}

interface ReadResult {
  rows: VisibleEvent[];
  snapshot: SnapshotBounds;
  /** The checkpoint the read wrote, if it carried one. */
  savedThrough: number | null;
  startedAt: number;
}

interface InFlightRead {
  result: Promise<ReadResult>;
}

/** One leadership's publishing state, from taking the lock to losing or leaving it. */
interface Leadership {
  client: pg.Client;
  /** Per partition, the position last published there: the next entry's `prev`. */
  prevOf: number[];
  /**
   * What the checkpoint says; `published` is what Redis holds. The
   * checkpoint trails by a round: the next read carries its write, and an
   * idle relay writes it before it sleeps. After a crash the older
   * checkpoint only makes the next leader re-publish what Redis refuses.
   */
  saved: number;
  /** The next read, when it went out ahead of its round. */
  read: InFlightRead | undefined;
  /** Rounds in a row whose XADDs failed. */
  redisFailures: number;
}

/** The advisory lock of a relay name: a fixed class id and a hash of the name. */
export function lockKey(name: string): [number, number] {
  return [0x52454c59, fnv1a32(name) | 0];
}
