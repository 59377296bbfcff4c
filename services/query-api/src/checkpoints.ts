import { DependencyUnavailableError } from '@refract/core';
import type { Logger } from '@refract/observability';
import { CHECKPOINTS_CHANNEL } from '@refract/projector';
import pg from 'pg';

/** The channel the projector runtime notifies on, in the transaction that moves a checkpoint. */
export { CHECKPOINTS_CHANNEL };

/** A partition and the position its checkpoint must reach. */
export interface PartitionTarget {
  partition: number;
  position: number;
}

export type WaitOutcome =
  /** `woken`: how the last target was met: already met, a notification, or the safety re-check. */
  | { ok: true; woken: 'immediate' | 'notification' | 'recheck' }
  | {
      ok: false;
      reason: 'timeout' | 'closed';
      /** Targets still unmet, with the checkpoint last seen for each. */
      pending: { partition: number; target: number; checkpoint: number }[];
    };

export interface CheckpointWatcherOptions {
  databaseUrl: string;
  /** For the status reads: the LISTEN connection only listens. */
  pool: pg.Pool;
  logger?: Logger;
  /** While anyone waits, checkpoints are re-read this often in case a notification was lost. @defaultValue 1000 */
  recheckMs?: number;
  /** Called whenever the LISTEN connection comes up or goes down. */
  onListening?: (listening: boolean) => void;
  /** Called once per safety re-check query. */
  onRecheck?: () => void;
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

interface CheckpointRow {
  name: string;
  live_version: number;
  partition: number;
  position: string;
}

const STATUS_SQL = `
SELECT p.name, p.live_version, c.partition, c.position::text AS position
FROM refract.projections AS p
JOIN refract.projection_checkpoints AS c ON c.projection = p.name AND c.version = p.live_version
WHERE p.name = ANY($1::text[])`;

const key = (projection: string, version: number) => `${projection}:${version}`;

/**
 * Read-your-writes for the query API: requests wait here until a projection's
 * live-version checkpoints reach given positions.
 *
 * One dedicated connection LISTENs on `refract_checkpoints`; the runtime's
 * `pg_notify('<projection>:<version>:<partition>:<position>')` in the batch
 * transaction arrives only once the batch is committed, so a notified
 * position is one whose effects are readable. Notifications wake waiters
 * without any query. A wait begins with one read of the checkpoints and, while
 * anyone waits, one read every `recheckMs` covers what notifications cannot:
 * a notification lost while the LISTEN connection was down, and a rebuild's
 * swap to a new live version.
 */
export class CheckpointWatcher {
  /**
   * Highest checkpoint known per `projection:version` and partition, from
   * notifications and reads. Only grows; holds committed positions only.
   */
  private readonly known = new Map<string, Map<number, number>>();
  /** Waiters by `projection:version`. */
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly recheckMs: number;
  private recheckTimer: NodeJS.Timeout | undefined;
  private rechecking = false;
  private client: pg.Client | undefined;
  private listening = false;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(private readonly options: CheckpointWatcherOptions) {
    this.recheckMs = options.recheckMs ?? 1000;
  }

  /** Whether the LISTEN connection is up; waits still end (by re-check) while it is not. */
  get isListening(): boolean {
    return this.listening;
  }

  get pendingWaits(): number {
    let count = 0;
    for (const set of this.waiters.values()) count += set.size;
    return count;
  }

  /** Opens the LISTEN connection, reconnecting with backoff whenever it is lost, until close(). */
  async start(): Promise<void> {
    await this.connect();
  }

  /**
   * Resolves once every target is met by the live version's checkpoints, or
   * with `ok: false` at the timeout or when the watcher closes. Throws
   * DependencyUnavailableError when the projection is not registered.
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
    for (const set of [...this.waiters.values()]) {
      for (const waiter of [...set]) {
        waiter.finish({ ok: false, reason: 'closed', pending: this.describe(waiter) });
      }
    }
  }

  /** Ends pending waits and the LISTEN connection. Idempotent. */
  async close(): Promise<void> {
    this.endWaits();
    clearTimeout(this.recheckTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    this.setListening(false);
    await client?.end().catch(() => {});
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

  private describe(waiter: Waiter): { partition: number; target: number; checkpoint: number }[] {
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

  private onNotification(payload: string | undefined): void {
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
    const result = await this.options.pool.query<CheckpointRow>(STATUS_SQL, [projections]);
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
    if (this.recheckTimer || this.stopped || this.waiters.size === 0) return;
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = undefined;
      void this.recheck();
    }, delayMs);
    this.recheckTimer.unref();
  }

  /** The safety net: one read of every waited projection's live checkpoints. */
  private async recheck(): Promise<void> {
    if (this.rechecking || this.waiters.size === 0) return;
    this.rechecking = true;
    try {
      const projections = new Set<string>();
      for (const set of this.waiters.values()) for (const w of set) projections.add(w.projection);
      this.options.onRecheck?.();
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
      this.rechecking = false;
      this.scheduleRecheck();
    }
  }

  private setListening(listening: boolean): void {
    if (this.listening === listening) return;
    this.listening = listening;
    this.options.onListening?.(listening);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: 'refract-query-api-listen',
      keepAlive: true,
    });
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
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
      const delay = Math.min(100 * 2 ** Math.min(this.failures, 5), 3000);
      this.reconnectTimer = setTimeout(() => void this.connect(), delay);
      this.reconnectTimer.unref();
    };
    client.on('error', onLost);
    client.on('end', () => onLost(new Error('connection ended')));
    client.on('notification', (message) => {
      if (message.channel === CHECKPOINTS_CHANNEL) this.onNotification(message.payload);
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
    // Notifications sent while nobody listened are gone: look once now.
    if (this.waiters.size > 0) {
      clearTimeout(this.recheckTimer);
      this.recheckTimer = undefined;
      void this.recheck();
    }
  }
}
