import { singleFlight } from '@refract/core';
import { readHeadPosition, withTransaction } from '@refract/event-store';
import type pg from 'pg';
import { SQL } from './sql.js';

/** One partition of a projection's live version. */
export interface PartitionLag {
  partition: number;
  /** Every event of the partition up to this position is applied. */
  checkpoint: number;
  /** The last position of the partition in the log (0 when it has none). */
  headPosition: number;
  /** Unapplied events of the partition: exact up to `countLimit`, extrapolated beyond (`lagEstimated`). */
  lagEvents: number;
  /** True when `lagEvents` passed `countLimit` and was extrapolated from the density of the counted part. */
  lagEstimated: boolean;
  /** Seconds since the oldest unapplied event was appended; 0 when caught up. */
  lagSeconds: number;
  /** True when the partition stopped on a poison event (`onError: 'halt'`). */
  halted: boolean;
  /** Seconds the partition has had unapplied events while its checkpoint stood still; 0 when caught up. */
  stalledSeconds: number;
}

/** A projection's live version: how far behind the log it is, and how fast it moves. */
export interface ProjectionLag {
  name: string;
  pool: string;
  version: number;
  paused: boolean;
  /** True when any partition is halted. */
  halted: boolean;
  /** The last position of the whole log. */
  headPosition: number;
  /** Sum over the partitions. */
  lagEvents: number;
  /** The oldest unapplied event's age over all partitions. */
  lagSeconds: number;
  /** Events applied per second, from checkpoint movement between samples; 0 on the first. */
  eventsPerSecond: number;
  /**
   * The longest a running (not paused) partition has had work while its
   * checkpoint stood still; halted partitions count as halted, not stalled.
   */
  stalledSeconds: number;
  /** `stalledSeconds` reached the threshold: the workers look alive but this projection does not move. */
  stalled: boolean;
  partitions: PartitionLag[];
}

export interface LagSnapshot {
  /** The database clock at the sample: every age is measured on it. */
  sampledAt: Date;
  headPosition: number;
  projections: ProjectionLag[];
}

export interface LagMonitorOptions {
  /** A partition with work whose checkpoint stands still this long is stalled. @defaultValue 30000 */
  stallThresholdMs?: number;
  /**
   * Unapplied events are counted exactly up to this many per partition, so a
   * huge lag costs a bounded read; beyond, the count is extrapolated. The
   * read's cost grows with this limit, not with the lag.
   * @defaultValue 1000
   */
  countLimit?: number;
  /** A sample younger than this is reused rather than read again. @defaultValue 0 */
  maxAgeMs?: number;
  /** The rate is measured over at least this long, so close samples do not make it jumpy. @defaultValue 1000 */
  rateWindowMs?: number;
}

interface LagRow {
  projection: string;
  pool: string;
  version: number;
  paused: boolean;
  partition: number | null;
  checkpoint: string | null;
  halted_at: string | null;
  head: string;
  lag: string;
  counted_to: string | null;
  oldest_age_s: number | null;
  stuck_s: number | null;
  now: Date;
}

interface Baseline {
  at: number;
  checkpoints: Map<number, number>;
}

const round = (value: number, places = 3) => Math.round(value * 10 ** places) / 10 ** places;

/**
 * Reads the lag of every projection's live version from Postgres: the
 * checkpoints, the log's head per partition, the unapplied events and the
 * age of the oldest one, and whether a projection is stalled (it has work
 * but its checkpoint has not moved for the threshold). Stateless but for the
 * rate, which compares a sample with an earlier one. Used by the admin
 * service; workers and benchmarks can sample it the same way.
 */
export class LagMonitor {
  private readonly stallThresholdMs: number;
  private readonly countLimit: number;
  private readonly maxAgeMs: number;
  private readonly rateWindowMs: number;
  private readonly baselines = new Map<string, Baseline>();
  private readonly rates = new Map<string, number>();
  private last: { at: number; snapshot: LagSnapshot } | undefined;
  private readonly reading = singleFlight(() => this.read());

  constructor(
    private readonly pool: pg.Pool,
    options: LagMonitorOptions = {},
  ) {
    this.stallThresholdMs = options.stallThresholdMs ?? 30_000;
    this.countLimit = options.countLimit ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 0;
    this.rateWindowMs = options.rateWindowMs ?? 1000;
  }

  /** A fresh sample, or the one being read, or one younger than `maxAgeMs`. */
  sample(): Promise<LagSnapshot> {
    if (this.last && Date.now() - this.last.at < this.maxAgeMs) {
      return Promise.resolve(this.last.snapshot);
    }
    return this.reading();
  }

  private async read(): Promise<LagSnapshot> {
    const { headPosition, lag } = await withTransaction(this.pool, async (client) => {
      // The planner's estimate for the capped counts is far above their cost
      // and, on a small checkpoint table without statistics, crosses the JIT
      // threshold: compiling then costs many times the read itself.
      await client.query('SET LOCAL jit = off');
      return {
        headPosition: await readHeadPosition(client),
        lag: await client.query<LagRow>(SQL.readLag, [this.countLimit]),
      };
    });
    const byProjection = new Map<string, LagRow[]>();
    for (const row of lag.rows) {
      const rows = byProjection.get(row.projection) ?? [];
      rows.push(row);
      byProjection.set(row.projection, rows);
    }
    const sampledAt = lag.rows[0]?.now ?? new Date();
    const projections: ProjectionLag[] = [];
    for (const rows of byProjection.values()) {
      projections.push(await this.summarise(rows, headPosition, sampledAt.getTime()));
    }
    const snapshot = { sampledAt, headPosition, projections };
    this.last = { at: Date.now(), snapshot };
    return snapshot;
  }

  private async summarise(rows: LagRow[], logHead: number, now: number): Promise<ProjectionLag> {
    const first = rows[0]!;
    const partitions = rows.flatMap((row): PartitionLag[] => {
      if (row.partition === null) return [];
      const counted = Number(row.lag);
      const checkpoint = Number(row.checkpoint);
      const head = Number(row.head);
      const countedTo = Number(row.counted_to ?? checkpoint);
      // Capped: the rest of the partition is assumed as dense as the counted part.
      const lagEstimated = counted >= this.countLimit && head > countedTo;
      const lagEvents = lagEstimated
        ? Math.round((counted * (head - checkpoint)) / (countedTo - checkpoint))
        : counted;
      const halted = row.halted_at !== null;
      return [
        {
          partition: row.partition,
          checkpoint,
          headPosition: head,
          lagEvents,
          lagEstimated,
          lagSeconds: lagEvents > 0 ? round(Math.max(0, row.oldest_age_s ?? 0)) : 0,
          halted,
          stalledSeconds: lagEvents > 0 && !halted ? round(Math.max(0, row.stuck_s ?? 0)) : 0,
        },
      ];
    });
    const stalledSeconds = first.paused
      ? 0
      : Math.max(0, ...partitions.map((p) => p.stalledSeconds));
    return {
      name: first.projection,
      pool: first.pool,
      version: first.version,
      paused: first.paused,
      halted: partitions.some((p) => p.halted),
      headPosition: logHead,
      lagEvents: partitions.reduce((sum, p) => sum + p.lagEvents, 0),
      lagSeconds: Math.max(0, ...partitions.map((p) => p.lagSeconds)),
      eventsPerSecond: await this.rate(first.projection, first.version, partitions, now),
      stalledSeconds,
      stalled: stalledSeconds * 1000 >= this.stallThresholdMs,
      partitions,
    };
  }

  /** Events applied per second since the baseline, once the window has passed; the last rate otherwise. */
  private async rate(
    name: string,
    version: number,
    partitions: PartitionLag[],
    now: number,
  ): Promise<number> {
    const key = `${name}@${version}`;
    const current = new Map(partitions.map((p) => [p.partition, p.checkpoint]));
    const baseline = this.baselines.get(key);
    if (!baseline) {
      this.baselines.set(key, { at: now, checkpoints: current });
      return 0;
    }
    const elapsedMs = now - baseline.at;
    if (elapsedMs < this.rateWindowMs) return this.rates.get(key) ?? 0;
    const moved = partitions.filter(
      (p) => p.checkpoint > (baseline.checkpoints.get(p.partition) ?? p.checkpoint),
    );
    let applied = 0;
    if (moved.length > 0) {
      const counted = await this.pool.query<{ applied: string }>(SQL.countApplied, [
        moved.map((p) => p.partition),
        moved.map((p) => baseline.checkpoints.get(p.partition)),
        moved.map((p) => p.checkpoint),
        this.countLimit,
      ]);
      applied = counted.rows.reduce((sum, row) => sum + Number(row.applied), 0);
    }
    const rate = round(applied / (elapsedMs / 1000), 1);
    this.baselines.set(key, { at: now, checkpoints: current });
    this.rates.set(key, rate);
    return rate;
  }
}
