import {
  backoffDelayMs,
  DependencyUnavailableError,
  InvalidInputError,
  partitionOf,
  singleFlight,
} from '@refract/core';
import {
  createPool,
  EVENTS_CHANNEL,
  readHeadPosition,
  readPartitionCount,
} from '@refract/event-store';
import type { Logger } from '@refract/observability';
import pg from 'pg';
import { NotCaughtUpError, type PendingPartition, WatcherClosedError } from './errors.js';
import { CHECKPOINTS_CHANNEL, SQL } from './sql.js';

/** A partition and the position its checkpoint must reach. */
export interface PartitionTarget {
  partition: number;
  position: number;
}

/** How the last target was met: already met, by a notification, or by the safety re-check. */
export type Woken = 'immediate' | 'notification' | 'recheck';

export type WaitOutcome =
  | { ok: true; woken: Woken }
  | {
      ok: false;
      reason: 'timeout' | 'closed';
      /** Targets still unmet, with the checkpoint last seen for each. */
      pending: PendingPartition[];
    };

export interface WaitForPositionOptions {
  /**
   * The stream the client wrote to: the wait is for every event of it up to
   * `position`, in its partition only. Without it, every partition must have
   * applied its events up to `position` (for read models fed by many streams).
   */
  streamId?: string;
  /** A global position the write API returned (an append's `lastPosition`, a command's `position`); 0 waits for nothing. */
  position: number;
  /** Rejects with NotCaughtUpError after this long. */
  timeoutMs: number;
}

/** What a query API waits with (the watcher, as the host hands it to query APIs). */
export interface ReadYourWrites {
  /**
   * Resolves once `projection`'s live version has applied what `position`
   * covers (see WaitForPositionOptions.streamId). Rejects with
   * NotCaughtUpError at the timeout, WatcherClosedError when the watcher
   * closes, DependencyUnavailableError when the projection is not registered,
   * and InvalidInputError for a bad `position` or `timeoutMs`.
   */
  waitForPosition(projection: string, options: WaitForPositionOptions): Promise<{ woken: Woken }>;
}

/** One finished waitForPosition, for metrics. */
export interface WaitReport {
  projection: string;
  outcome: Woken | 'timeout' | 'closed';
  seconds: number;
}

export interface CheckpointWatcherOptions {
  /**
   * For the status reads (the LISTEN connection is a client of its own,
   * opened with the pool's settings unless `databaseUrl` is given).
   */
  pool?: pg.Pool;
  /** Without `pool`, the watcher opens (and closes) a small pool of its own. */
  databaseUrl?: string;
  /** The installed partition count; read from `refract.settings` at start when absent. */
  partitions?: number;
  logger?: Logger;
  /** While anyone waits, checkpoints are re-read this often in case a notification was lost. @defaultValue 1000 */
  recheckMs?: number;
  /** `application_name` of the LISTEN connection. @defaultValue 'refract-read-your-writes' */
  applicationName?: string;
  /** Called whenever the LISTEN connection comes up or goes down. */
  onListening?: (listening: boolean) => void;
  /** Called once per safety re-check. */
  onRecheck?: () => void;
  /** Called once per waitForPosition that waited for something (position above 0). */
  onWait?: (report: WaitReport) => void;
}

interface Waiter {
  projection: string;
  /** The live version when the wait began, or as the last re-check found it. */
  version: number;
  /** partition → target not reached yet. */
  pending: Map<number, number>;
  timer: NodeJS.Timeout;
  finish(outcome: WaitOutcome): void;
}

/** A wait for the log's head to reach a position (one not appended yet). */
interface HeadWaiter {
  position: number;
  timer: NodeJS.Timeout;
  finish(outcome: 'reached' | 'timeout' | 'closed'): void;
}

interface CheckpointRow {
  name: string;
  live_version: number;
  partition: number;
  position: string;
}

const key = (projection: string, version: number) => `${projection}:${version}`;

/**
 * Read-your-writes: requests wait here until a projection's live-version
 * checkpoints reach given positions.
 *
 * One dedicated connection LISTENs on `refract_checkpoints`, shared by every
 * waiter; the runtime's `pg_notify('<projection>:<version>:<partition>:<position>')`
 * in the batch transaction arrives only once the batch is committed, so a
 * notified position is one whose effects are readable. Notifications wake
 * waiters without any query. A wait begins with one read of the checkpoints
 * and, while anyone waits, one read every `recheckMs` covers what
 * notifications cannot: a notification lost while the LISTEN connection was
 * down, and a rebuild's swap to a new live version. A position beyond the
 * log's head is waited for on the append channel, listened to only then.
 */
export class CheckpointWatcher implements ReadYourWrites {
  /**
   * Highest checkpoint known per `projection:version` and partition, from
   * notifications and reads. Only grows; holds committed positions only.
   */
  private readonly known = new Map<string, Map<number, number>>();
  /** Waiters by `projection:version`. */
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly headWaiters = new Set<HeadWaiter>();
  /** The highest position known committed. */
  private head = 0;
  /** One read of the head at a time; notifications during a read ask for one more. */
  private readonly checkHead = singleFlight(
    async () => {
      if (this.headWaiters.size === 0) return;
      try {
        await this.readHead();
      } catch (error) {
        this.options.logger?.debug({ err: error }, 'read of the log head failed');
      }
    },
    { rerun: true },
  );
  private readonly pool: pg.Pool;
  private readonly ownsPool: boolean;
  private readonly recheckMs: number;
  private partitionCount: number | undefined;
  private recheckTimer: NodeJS.Timeout | undefined;
  /** The safety net; a re-check due while one runs joins it. */
  private readonly recheck = singleFlight(() => this.runRecheck());
  private client: pg.Client | undefined;
  private listening = false;
  private listeningForAppends = false;
  private stopped = false;
  private closing: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: CheckpointWatcherOptions) {
    if (!options.pool && !options.databaseUrl) {
      throw new Error('a checkpoint watcher needs a pool or a databaseUrl');
    }
    this.ownsPool = !options.pool;
    this.pool =
      options.pool ??
      createPool({
        connectionString: options.databaseUrl as string,
        max: 2,
        applicationName: 'refract-read-your-writes',
      });
    this.recheckMs = options.recheckMs ?? 1000;
    this.partitionCount = options.partitions;
  }

  /** Whether the LISTEN connection is up; waits still end (by re-check) while it is not. */
  get isListening(): boolean {
    return this.listening;
  }

  get pendingWaits(): number {
    let count = this.headWaiters.size;
    for (const set of this.waiters.values()) count += set.size;
    return count;
  }

  /** The installed partition count (known once started). */
  get partitions(): number {
    if (this.partitionCount === undefined) throw new Error('the checkpoint watcher is not started');
    return this.partitionCount;
  }

  /**
   * Reads the partition count unless given (failing on an unmigrated
   * database) and opens the LISTEN connection, reconnecting with backoff
   * whenever it is lost, until close().
   */
  async start(): Promise<void> {
    this.partitionCount ??= await readPartitionCount(this.pool);
    await this.connect();
  }

  async waitForPosition(
    projection: string,
    options: WaitForPositionOptions,
  ): Promise<{ woken: Woken }> {
    const { streamId, position, timeoutMs } = options;
    if (!Number.isSafeInteger(position) || position < 0) {
      throw new InvalidInputError('position', 'must be a non-negative integer');
    }
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 0) {
      throw new InvalidInputError('timeoutMs', 'must be a non-negative integer');
    }
    if (position === 0) return { woken: 'immediate' };
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    const report = (outcome: WaitReport['outcome']) =>
      this.options.onWait?.({ projection, outcome, seconds: (performance.now() - started) / 1000 });

    const head = await this.awaitHead(position, timeoutMs);
    if (head === 'closed') {
      report('closed');
      throw new WatcherClosedError();
    }
    if (head === 'timeout') {
      report('timeout');
      throw new NotCaughtUpError(
        `position ${position} is beyond the log's head after ${timeoutMs} ms`,
        projection,
        position,
        timeoutMs,
      );
    }
    const targets =
      streamId === undefined
        ? await this.partitionTargets(position)
        : [await this.streamTarget(streamId, position)];
    const outcome = await this.waitFor(projection, targets, Math.max(0, deadline - Date.now()));
    report(outcome.ok ? outcome.woken : outcome.reason);
    if (outcome.ok) return { woken: outcome.woken };
    if (outcome.reason === 'closed') throw new WatcherClosedError();
    const what = streamId === undefined ? 'every event' : `every event of ${streamId}`;
    throw new NotCaughtUpError(
      `${projection} has not applied ${what} up to position ${position} within ${timeoutMs} ms`,
      projection,
      position,
      timeoutMs,
      outcome.pending,
    );
  }

  /**
   * The primitive under waitForPosition: resolves once every target is met
   * by the live version's checkpoints, or with `ok: false` at the timeout or
   * when the watcher closes. Throws DependencyUnavailableError when the
   * projection is not registered.
   */
  async waitFor(
    projection: string,
    targets: readonly PartitionTarget[],
    timeoutMs: number,
  ): Promise<WaitOutcome> {
    if (this.stopped) return { ok: false, reason: 'closed', pending: [] };
    const wanted = targets.filter((t) => t.position > 0);
    if (wanted.length === 0) return { ok: true, woken: 'immediate' };

    const status = await this.readStatus([projection]);
    const live = status.get(projection);
    if (!live) throw new DependencyUnavailableError(`projection ${projection}`);
    for (const [partition, position] of live.positions) {
      this.record(projection, live.version, partition, position);
    }
    const pending = new Map<number, number>();
    for (const { partition, position } of wanted) {
      if (this.checkpointOf(projection, live.version, partition) < position) {
        pending.set(partition, Math.max(pending.get(partition) ?? 0, position));
      }
    }
    if (pending.size === 0) return { ok: true, woken: 'immediate' };
    if (this.stopped) return { ok: false, reason: 'closed', pending: [] };

    return new Promise<WaitOutcome>((resolve) => {
      const waiter: Waiter = {
        projection,
        version: live.version,
        pending,
        timer: setTimeout(() => {
          waiter.finish({ ok: false, reason: 'timeout', pending: this.describe(waiter) });
        }, timeoutMs),
        finish: (outcome) => {
          clearTimeout(waiter.timer);
          this.remove(waiter);
          resolve(outcome);
        },
      };
      this.add(waiter);
      this.scheduleRecheck();
    });
  }

  /** Answers every pending wait with `closed` (the server is shutting down); new waits are refused. */
  endWaits(): void {
    this.stopped = true;
    for (const waiter of [...this.headWaiters]) waiter.finish('closed');
    for (const set of [...this.waiters.values()]) {
      for (const waiter of [...set]) {
        waiter.finish({ ok: false, reason: 'closed', pending: this.describe(waiter) });
      }
    }
  }

  /** Ends pending waits, the LISTEN connection and the watcher's own pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.endWaits();
      clearTimeout(this.recheckTimer);
      clearTimeout(this.reconnectTimer);
      const client = this.client;
      this.client = undefined;
      this.setListening(false);
      await client?.end().catch(() => {});
      if (this.ownsPool) await this.pool.end();
    })();
    return this.closing;
  }

  /**
   * What "applied every event of this stream up to position" asks of the
   * stream's partition: its checkpoint must reach the stream's last event at
   * or below the position. Waiting for the position itself could last
   * forever, since a partition's checkpoint only moves when that partition
   * has events. Appends to one stream are serialised, so once a client holds
   * a position of the stream, every earlier event of the stream is committed.
   */
  private async streamTarget(streamId: string, position: number): Promise<PartitionTarget> {
    const result = await this.pool.query<{ target: string }>(SQL.streamTarget, [
      streamId,
      position,
    ]);
    return {
      partition: partitionOf(streamId, this.partitions),
      position: Number(result.rows[0]?.target ?? 0),
    };
  }

  /** The same for a read model fed by every partition (partitions without events are not waited for). */
  private async partitionTargets(position: number): Promise<PartitionTarget[]> {
    const result = await this.pool.query<{ partition: number; target: string }>(
      SQL.partitionTargets,
      [this.partitions, position],
    );
    return result.rows.map((row) => ({ partition: row.partition, position: Number(row.target) }));
  }

  /**
   * A position beyond the log's head has not happened yet: no event of the
   * stream is known to be at or below it. A client's own writes are always
   * at or below the head, so this only waits for positions still in flight,
   * or that never come (a timeout). Woken by the append channel's
   * notifications, each followed by one read of the head shared by all.
   */
  private async awaitHead(
    position: number,
    timeoutMs: number,
  ): Promise<'reached' | 'timeout' | 'closed'> {
    if (this.stopped) return 'closed';
    if (this.head >= position) return 'reached';
    await this.readHead();
    if (this.head >= position) return 'reached';
    if (this.stopped) return 'closed';
    return new Promise((resolve) => {
      const waiter: HeadWaiter = {
        position,
        timer: setTimeout(() => waiter.finish('timeout'), timeoutMs),
        finish: (outcome) => {
          clearTimeout(waiter.timer);
          this.headWaiters.delete(waiter);
          if (this.headWaiters.size === 0) this.stopListeningForAppends();
          resolve(outcome);
        },
      };
      this.headWaiters.add(waiter);
      this.listenForAppends();
      this.scheduleRecheck();
    });
  }

  private async readHead(): Promise<void> {
    this.noteHead(await readHeadPosition(this.pool));
  }

  /** A position known committed: the head is at least there. */
  private noteHead(position: number): void {
    if (position <= this.head) return;
    this.head = position;
    for (const waiter of [...this.headWaiters]) {
      if (waiter.position <= position) waiter.finish('reached');
    }
  }

  private listenForAppends(): void {
    const client = this.client;
    if (this.listeningForAppends || !client) return;
    this.listeningForAppends = true;
    // An append may have committed between the head read and the LISTEN: look once more.
    client.query(`LISTEN ${EVENTS_CHANNEL}`).then(
      () => void this.checkHead(),
      // The connection is lost: its reconnect listens again.
      () => {},
    );
  }

  /** Appends notify on every commit: nobody waiting for the head, nobody listens. */
  private stopListeningForAppends(): void {
    const client = this.client;
    if (!this.listeningForAppends || !client) return;
    this.listeningForAppends = false;
    client.query(`UNLISTEN ${EVENTS_CHANNEL}`).catch(() => {});
  }

  private add(waiter: Waiter): void {
    const k = key(waiter.projection, waiter.version);
    let set = this.waiters.get(k);
    if (!set) {
      set = new Set();
      this.waiters.set(k, set);
    }
    set.add(waiter);
  }

  private remove(waiter: Waiter): void {
    const k = key(waiter.projection, waiter.version);
    const set = this.waiters.get(k);
    set?.delete(waiter);
    if (set?.size === 0) this.waiters.delete(k);
  }

  /** The highest checkpoint seen, read or notified. */
  private checkpointOf(projection: string, version: number, partition: number): number {
    return this.known.get(key(projection, version))?.get(partition) ?? 0;
  }

  private describe(waiter: Waiter): PendingPartition[] {
    return [...waiter.pending]
      .sort(([a], [b]) => a - b)
      .map(([partition, target]) => ({
        partition,
        target,
        checkpoint: this.checkpointOf(waiter.projection, waiter.version, partition),
      }));
  }

  /** Drops targets now met; finishes the waiter when none is left. */
  private settle(waiter: Waiter, woken: 'notification' | 'recheck'): void {
    for (const [partition, target] of waiter.pending) {
      if (this.checkpointOf(waiter.projection, waiter.version, partition) >= target) {
        waiter.pending.delete(partition);
      }
    }
    if (waiter.pending.size === 0) waiter.finish({ ok: true, woken });
  }

  private record(projection: string, version: number, partition: number, position: number): void {
    const k = key(projection, version);
    let positions = this.known.get(k);
    if (!positions) {
      positions = new Map();
      this.known.set(k, positions);
    }
    if ((positions.get(partition) ?? 0) < position) positions.set(partition, position);
  }

  private onCheckpoint(payload: string | undefined): void {
    // `<projection>:<version>:<partition>:<position>`; projection names have no colon.
    const parts = (payload ?? '').split(':');
    if (parts.length !== 4) return;
    const [projection, versionText, partitionText, positionText] = parts as [
      string,
      string,
      string,
      string,
    ];
    const version = Number(versionText);
    const partition = Number(partitionText);
    const position = Number(positionText);
    if (![version, partition, position].every(Number.isSafeInteger)) return;
    this.record(projection, version, partition, position);
    this.noteHead(position);
    const set = this.waiters.get(key(projection, version));
    if (!set) return;
    for (const waiter of [...set]) {
      const target = waiter.pending.get(partition);
      if (target !== undefined && position >= target) {
        waiter.pending.delete(partition);
        if (waiter.pending.size === 0) waiter.finish({ ok: true, woken: 'notification' });
      }
    }
  }

  private async readStatus(
    projections: string[],
  ): Promise<Map<string, { version: number; positions: Map<number, number> }>> {
    const result = await this.pool.query<CheckpointRow>(SQL.readCheckpoints, [projections]);
    const status = new Map<string, { version: number; positions: Map<number, number> }>();
    for (const row of result.rows) {
      let entry = status.get(row.name);
      if (!entry) {
        entry = { version: row.live_version, positions: new Map() };
        status.set(row.name, entry);
      }
      entry.positions.set(row.partition, Number(row.position));
    }
    return status;
  }

  private scheduleRecheck(delayMs = this.recheckMs): void {
    if (this.recheckTimer || this.stopped || this.pendingWaits === 0) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      void this.recheck();
    }, delayMs);
    this.recheckTimer.unref();
  }

  /** The safety net: one read of the head (if awaited) and of every waited projection's live checkpoints. */
  private async runRecheck(): Promise<void> {
    if (this.pendingWaits === 0) return;
    try {
      this.options.onRecheck?.();
      await this.checkHead();
      const projections = new Set<string>();
      for (const set of this.waiters.values()) for (const w of set) projections.add(w.projection);
      if (projections.size === 0) return;
      const status = await this.readStatus([...projections]);
      for (const [projection, live] of status) {
        for (const [partition, position] of live.positions) {
          this.record(projection, live.version, partition, position);
        }
      }
      for (const set of [...this.waiters.values()]) {
        for (const waiter of [...set]) {
          const live = status.get(waiter.projection);
          if (live && live.version !== waiter.version) {
            // A rebuild swapped versions: the targets are log positions, so
            // they hold for the new live version as they did for the old.
            this.remove(waiter);
            waiter.version = live.version;
            this.add(waiter);
          }
          this.settle(waiter, 'recheck');
        }
      }
    } catch (error) {
      this.options.logger?.debug({ err: error }, 'checkpoint re-check failed');
    } finally {
      this.scheduleRecheck();
    }
  }

  private setListening(listening: boolean): void {
    if (this.listening === listening) return;
    this.listening = listening;
    this.options.onListening?.(listening);
  }

  /** The LISTEN connection's settings: the database URL's, or the pool's. */
  private clientConfig(): pg.ClientConfig {
    const base: pg.ClientConfig = this.options.databaseUrl
      ? { connectionString: this.options.databaseUrl }
      : { ...this.pool.options };
    return {
      ...base,
      application_name: this.options.applicationName ?? 'refract-read-your-writes',
      keepAlive: true,
    };
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.clientConfig());
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = undefined;
        this.listeningForAppends = false;
      }
      this.setListening(false);
      client.end().catch(() => {});
      if (this.stopped) return;
      this.failures += 1;
      if (this.failures === 1) {
        this.options.logger?.warn(
          { err: error },
          'checkpoint LISTEN connection lost; reconnecting (waits fall back to re-checks)',
        );
      }
      const delay = backoffDelayMs(this.failures, { baseMs: 100, maxMs: 3000 });
      this.reconnectTimer = setTimeout(() => void this.connect(), delay);
      this.reconnectTimer.unref();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('connection ended')));
    client.on('notification', (message) => {
      if (message.channel === CHECKPOINTS_CHANNEL) this.onCheckpoint(message.payload);
      else if (message.channel === EVENTS_CHANNEL && this.headWaiters.size > 0) {
        void this.checkHead();
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHECKPOINTS_CHANNEL}`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (this.stopped || lost) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    if (this.failures > 0) this.options.logger?.info('checkpoint LISTEN connection back');
    this.failures = 0;
    this.setListening(true);
    if (this.headWaiters.size > 0) this.listenForAppends();
    // Notifications sent while nobody listened are gone: look once now.
    if (this.waiters.size > 0) {
      clearTimeout(this.recheckTimer);
      this.recheckTimer = undefined;
      void this.recheck();
    }
  }
}

/**
 * A started watcher: reads the partition count (unless given) and opens the
 * LISTEN connection. Close it with `close()`; a pool it opened itself (from
 * `databaseUrl`) closes with it.
 */
export async function createCheckpointWatcher(
  options: CheckpointWatcherOptions,
): Promise<CheckpointWatcher> {
  const watcher = new CheckpointWatcher(options);
  try {
    await watcher.start();
  } catch (error) {
    await watcher.close();
    throw error;
  }
  return watcher;
}
