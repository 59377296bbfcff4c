import { DependencyUnavailableError } from '@refract/core';
import type { LagMonitor, PartitionLag, ProjectionLag } from '@refract/projector';
import {
  countOpenParkedEvents,
  type EffectSummary,
  readTrips,
  summarizeEffects,
  summarizeParkedEvents,
} from '@refract/projector';
import type { RebuildJobView, RebuildQueue } from '@refract/rebuild';
import { type RelayState, readRelayState } from '@refract/relay';
import type { RedisClient } from '@refract/stream-bus';
import { type PoolMember, readLeaseHolders, readPoolMembers } from '@refract/stream-bus';
import type pg from 'pg';

/** The summary of a projection's running rebuild that /api/projections shows. */
export function rebuildSummary(job: RebuildJobView | null) {
  if (!job) return null;
  const { jobId, state, processed, total, eventsPerSecond, etaSeconds } = job;
  return { jobId, state, processed, total, eventsPerSecond, etaSeconds };
}

export type ProjectionStatus = 'running' | 'paused' | 'rebuilding' | 'halted' | 'tripped';

export interface PartitionView {
  partition: number;
  checkpoint: number;
  /** The worker holding the partition's lease; null when none does (or Redis is unreachable). */
  owner: string | null;
  lagEvents: number;
  /** `lagEvents` passed the count limit and was extrapolated. */
  lagEstimated: boolean;
  lagSeconds: number;
  halted: boolean;
  stalledSeconds: number;
}

export interface ProjectionView {
  name: string;
  version: number;
  pool: string;
  status: ProjectionStatus;
  headPosition: number;
  lagEvents: number;
  lagSeconds: number;
  eventsPerSecond: number;
  parked: number;
  stalled: boolean;
  stalledSeconds: number;
  partitions: PartitionView[];
  rebuild: ReturnType<typeof rebuildSummary>;
  /** Set while its breaker is tripped: when (ISO 8601) and why. */
  tripped: { at: string; reason: string } | null;
  /** Streams with open parked events (quarantined for this projection). */
  quarantinedStreams: number;
  /** The most frequent errors of its open parked events, grouped by message. */
  topErrors: { message: string; events: number }[];
  /** Set for a reactor: its effects as the ledger counts them. */
  reactor?: Omit<EffectSummary, 'reactor'>;
}

export type WorkerView = PoolMember;

export type RelayView = RelayState;

export interface Overview {
  projections: ProjectionView[];
  workers: WorkerView[];
  relay: RelayView;
}

export interface OverviewOptions {
  pool: pg.Pool;
  redis: RedisClient;
  keyPrefix: string;
  partitions: number;
  relayName: string;
  lag: LagMonitor;
  /** Where running rebuilds are looked up; none means no projection shows as rebuilding. */
  rebuild?: Pick<RebuildQueue, 'current'>;
  /**
   * The application's projections by name: only these are shown. A projection
   * the registry still lists but the module no longer declares (or another
   * application's, in a shared database) is left out. All when absent.
   */
  projections?: readonly string[];
  /** Which of them are reactors: shown with their effects' counts. */
  reactors?: readonly string[];
}

/**
 * Rebuilding wins (the live version keeps running beside it), then a trip
 * (the breaker's own pause, which resume also clears), then the operator's
 * pause, then a halt.
 */
function statusOf(lag: ProjectionLag, rebuilding: boolean, tripped: boolean): ProjectionStatus {
  if (rebuilding) return 'rebuilding';
  if (tripped) return 'tripped';
  if (lag.paused) return 'paused';
  if (lag.halted) return 'halted';
  return 'running';
}

const tripOf = (trip: { at: Date; reason: string } | undefined) =>
  trip ? { at: trip.at.toISOString(), reason: trip.reason } : null;

const redisDown = (error: unknown) => new DependencyUnavailableError('redis', error);

/**
 * What the admin endpoints and the stream show, read from where it lives:
 * lag and checkpoints from Postgres (LagMonitor), ownership and workers from
 * the pool membership and leases in Redis, the relay from its lock and
 * checkpoint, rebuilds from the job queue.
 */
export class AdminOverview {
  private readonly shown: ReadonlySet<string> | undefined;

  constructor(private readonly options: OverviewOptions) {
    this.shown = options.projections && new Set(options.projections);
  }

  async projections(): Promise<ProjectionView[]> {
    const { pool } = this.options;
    const [sampled, parked, trips, summaries, effects] = await Promise.all([
      this.sample(),
      countOpenParkedEvents(pool),
      readTrips(pool),
      summarizeParkedEvents(pool),
      this.effects(),
    ]);
    const pools = [...new Set(sampled.map((p) => p.pool))];
    // Ownership is decoration here: without Redis the lag is still worth showing.
    const owners = new Map(
      await Promise.all(
        pools.map(async (name) => [name, await this.leaseHolders(name).catch(() => null)] as const),
      ),
    );
    return Promise.all(
      sampled.map(async (p): Promise<ProjectionView> => {
        const job = (await this.options.rebuild?.current(p.name)) ?? null;
        const holders = owners.get(p.pool) ?? null;
        return {
          name: p.name,
          version: p.version,
          pool: p.pool,
          status: statusOf(p, job !== null, trips.has(p.name)),
          headPosition: p.headPosition,
          lagEvents: p.lagEvents,
          lagSeconds: p.lagSeconds,
          eventsPerSecond: p.eventsPerSecond,
          parked: parked.get(p.name) ?? 0,
          stalled: p.stalled,
          stalledSeconds: p.stalledSeconds,
          partitions: p.partitions.map((part: PartitionLag) => ({
            partition: part.partition,
            checkpoint: part.checkpoint,
            owner: holders?.[part.partition] ?? null,
            lagEvents: part.lagEvents,
            lagEstimated: part.lagEstimated,
            lagSeconds: part.lagSeconds,
            halted: part.halted,
            stalledSeconds: part.stalledSeconds,
          })),
          rebuild: rebuildSummary(job),
          tripped: tripOf(trips.get(p.name)),
          quarantinedStreams: summaries.get(p.name)?.streams ?? 0,
          topErrors: summaries.get(p.name)?.topErrors ?? [],
          ...(effects.has(p.name) ? { reactor: effects.get(p.name) } : {}),
        };
      }),
    );
  }

  /** The shown reactors' effect counts, by name. */
  private async effects(): Promise<Map<string, Omit<EffectSummary, 'reactor'>>> {
    const summaries = await summarizeEffects(this.options.pool, this.options.reactors ?? []);
    return new Map(summaries.map(({ reactor, ...counts }) => [reactor, counts]));
  }

  /** The live members of every pool a shown projection belongs to. */
  async workers(): Promise<WorkerView[]> {
    const { redis, keyPrefix, partitions } = this.options;
    const pools = [...new Set((await this.sample()).map((p) => p.pool))].sort();
    try {
      const members = await Promise.all(
        pools.map((pool) => readPoolMembers(redis, { keyPrefix, pool, partitions })),
      );
      return members.flat();
    } catch (error) {
      throw redisDown(error);
    }
  }

  async relay(): Promise<RelayView> {
    // One primary-key range, so the relay's own (larger) count limit is cheap enough.
    return readRelayState(this.options.pool, { name: this.options.relayName });
  }

  async all(): Promise<Overview> {
    const [projections, workers, relay] = await Promise.all([
      this.projections(),
      this.workers(),
      this.relay(),
    ]);
    return { projections, workers, relay };
  }

  /** The registered projections that are shown, with their lag. */
  private async sample(): Promise<ProjectionLag[]> {
    const { projections } = await this.options.lag.sample();
    const shown = this.shown;
    return shown ? projections.filter((p) => shown.has(p.name)) : projections;
  }

  private leaseHolders(pool: string) {
    const { redis, keyPrefix, partitions } = this.options;
    return readLeaseHolders(redis, { keyPrefix, pool, partitions });
  }
}
