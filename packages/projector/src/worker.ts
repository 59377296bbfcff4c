import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type AnyProjection,
  isCounterProjection,
  type Reactor,
  singleFlight,
  UpcasterRegistry,
  untilReachable,
} from '@refract/core';
import { createPool, EventStore } from '@refract/event-store';
import type { Logger } from '@refract/observability';
import type { RedisClient } from '@refract/stream-bus';
import {
  assignPartitions,
  createRedisClient,
  duplicateClient,
  PoolMembership,
  waitUntilReady,
} from '@refract/stream-bus';
import pg from 'pg';
import type { ApplyOutcome } from './apply.js';
import { BatchCommitter, SHARED_TRANSACTIONS } from './batch-committer.js';
import { BatchGate } from './batch-gate.js';
import { type ActiveProjection, PartitionRunner } from './partition-runner.js';
import { type ReactorProjection, reactorProjection, registerReactor } from './reactor.js';
import { registerCounterProjection, registerProjection } from './register.js';
import { PROJECTIONS_CHANNEL, SQL } from './sql.js';

export interface ProjectorWorkerOptions {
  databaseUrl: string;
  redisUrl: string;
  /** @defaultValue 'refract:' */
  keyPrefix?: string;
  pool: string;
  /** The projections this worker runs; all must belong to `pool`. */
  projections: AnyProjection[];
  /** The reactors it runs, beside them; all must belong to `pool`. */
  reactors?: Reactor[];
  /**
   * Brings stored events to their current shape, on catch-up from Postgres
   * and on live entries alike (`app.upcasters`). @defaultValue an empty registry
   */
  upcasters?: UpcasterRegistry;
  /** Events per batch transaction. @defaultValue 500 */
  batchSize?: number;
  /**
   * Full batches' worth of events this worker may hold at once (read, not
   * yet applied) over all the partitions it owns: the gate admits at most
   * `concurrentBatches × batchSize` events, which bounds its memory. Behind,
   * each partition takes a full batch's share before it reads; tailing, only
   * what it read, so many partitions' small batches can wait for the shared
   * commit together. More than a few only hold more events in hand, not
   * catch up faster.
   * @defaultValue 4
   */
  concurrentBatches?: number;
  /** A worker, and its leases, not renewed in this time are gone. @defaultValue 5000 */
  leaseTtlMs?: number;
  /** Heartbeat, rebalance and flag refresh period. @defaultValue 1000 */
  heartbeatMs?: number;
  /** How long one XREAD waits for entries. @defaultValue 1000 */
  blockMs?: number;
  workerId?: string;
  logger: Logger;
}

/** Told of each committed batch: its projection, what it applied or parked, how long it took. */
type BatchListener = (projection: string, outcome: ApplyOutcome, durationMs: number) => void;

export interface WorkerStatus {
  id: string;
  pool: string;
  host: string;
  pid: number;
  partitions: number[];
  lastHeartbeat: Date | null;
  checkpoints: {
    partition: number;
    projection: string;
    version: number;
    position: number;
    halted: boolean;
  }[];
}

const DEFAULT_CONCURRENT_BATCHES = 4;

/** How soon a partition won but still leased by its previous owner is tried again. */
const CLAIM_RETRY_MS = 100;

/**
 * One process of a worker pool. Every heartbeat it renews its membership,
 * computes the partitions it should own (rendezvous hashing over the live
 * members), takes or renews their leases, starts a runner per owned
 * partition and stops the runners of partitions it should no longer own,
 * releasing their leases at once so the new owner need not wait.
 */
export class ProjectorWorker {
  readonly id: string;
  private readonly log: Logger;
  private readonly keyPrefix: string;
  private readonly heartbeatMs: number;
  private store: EventStore | undefined;
  private control: RedisClient | undefined;
  private membership: PoolMembership | undefined;
  private readonly runners = new Map<number, PartitionRunner>();
  private readonly gate: BatchGate;
  private committer: BatchCommitter | undefined;
  /** The shared batch transactions' connections, pipelined (see BatchCommitter). */
  private sharedPool: pg.Pool | undefined;
  private active: ActiveProjection[] = [];
  /** The projections, and the reactors as projections (reactor.ts), once started. */
  private runnable: AnyProjection[] = [];
  /** The reactors as run, by name, and when their registry row last changed. */
  private readonly reactors = new Map<string, { run: ReactorProjection; changedAt?: number }>();
  /** The effect ledger's attempts: autocommit, on connections the batches never hold. */
  private ledgerPool: pg.Pool | undefined;
  private partitions = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly ticking = singleFlight(() => this.tick());
  private closing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private readonly stopStarting = new AbortController();
  private lastHeartbeat: Date | null = null;
  private heartbeatFailing = false;
  private listener: pg.Client | undefined;
  private readonly listening = singleFlight(() => this.listen());
  private listenFailing = false;
  /**
   * Refreshes the flags on a swap's notification; one during a refresh
   * causes one more, since the refresh in flight may have read the old flags.
   */
  private readonly refreshing = singleFlight(
    async () => {
      if (!this.closing) await this.refreshFlags().catch(() => {});
    },
    { rerun: true },
  );
  /** Won at the last heartbeat, but the previous owner still held the lease. */
  private unclaimed: number[] = [];
  private claimTimer: NodeJS.Timeout | undefined;
  /** A retry of claim(); a failure is the heartbeat's to report, as it recomputes the list. */
  private readonly claiming = singleFlight(() => this.claim().catch(() => {}));
  private readonly batchListeners: BatchListener[] = [];

  constructor(private readonly options: ProjectorWorkerOptions) {
    this.id = options.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.keyPrefix = options.keyPrefix ?? 'refract:';
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.log = options.logger.child({ worker: this.id, pool: options.pool });
    this.gate = new BatchGate(
      (options.concurrentBatches ?? DEFAULT_CONCURRENT_BATCHES) * (options.batchSize ?? 500),
    );
    for (const projection of [...options.projections, ...(options.reactors ?? [])]) {
      if (projection.pool !== options.pool) {
        throw new Error(
          `projection ${projection.name} belongs to pool ${projection.pool}, not ${options.pool}`,
        );
      }
    }
  }

  /** Calls `listener` after each committed batch (for metrics). */
  observeBatches(listener: BatchListener): void {
    this.batchListeners.push(listener);
  }

  /**
   * Registers the projections, joins the pool and starts working. A close()
   * meanwhile ends the start at its next step (rejecting it) and waits for
   * that, so nothing the start opens outlives the close.
   */
  start(): Promise<void> {
    this.starting ??= this.startSteps();
    return this.starting;
  }

  /** Throws once close() has been called: the start stops before opening more. */
  private assertOpen(): void {
    if (this.closing) throw new Error('worker closed while starting');
  }

  private async startSteps(): Promise<void> {
    this.assertOpen();
    const applicationName = `refract-worker-${this.options.pool}`;
    this.store = await this.untilPostgresAnswers('open the event store', () =>
      EventStore.open({
        databaseUrl: this.options.databaseUrl,
        poolSize: 10,
        applicationName,
        upcasters: this.options.upcasters ?? new UpcasterRegistry(),
      }),
    );
    this.assertOpen();
    const store = this.store;
    this.partitions = store.partitions;
    this.sharedPool = createPool({
      connectionString: this.options.databaseUrl,
      max: SHARED_TRANSACTIONS,
      applicationName,
      pipeline: true,
    });
    this.committer = new BatchCommitter(store.pool, {
      concurrency: SHARED_TRANSACTIONS,
      sharedPool: this.sharedPool,
      log: this.log,
    });
    for (const projection of this.options.projections) {
      await this.untilPostgresAnswers(`register projection ${projection.name}`, () =>
        isCounterProjection(projection)
          ? registerCounterProjection(store.pool, projection)
          : registerProjection(store.pool, projection, this.partitions),
      );
    }
    const reactors = this.options.reactors ?? [];
    if (reactors.length > 0) {
      this.ledgerPool = createPool({
        connectionString: this.options.databaseUrl,
        max: 2,
        applicationName: `${applicationName}-ledger`,
      });
    }
    for (const reactor of reactors) {
      await this.untilPostgresAnswers(`register reactor ${reactor.name}`, () =>
        registerReactor(store.pool, reactor, this.partitions),
      );
    }
    for (const reactor of reactors) {
      this.reactors.set(reactor.name, { run: reactorProjection(reactor, this.ledgerPool!) });
    }
    this.runnable = [...this.options.projections, ...[...this.reactors.values()].map((r) => r.run)];
    this.assertOpen();
    this.control = createRedisClient(this.options.redisUrl, { name: `refract-worker-${this.id}` });
    this.membership = new PoolMembership(this.control, {
      keyPrefix: this.keyPrefix,
      pool: this.options.pool,
      memberId: this.id,
      ttlMs: this.options.leaseTtlMs ?? 5000,
    });
    this.log.info(
      {
        projections: this.options.projections.map((p) => p.name),
        reactors: reactors.map((r) => r.name),
      },
      'worker started',
    );
    await waitUntilReady(this.control, 5000);
    this.assertOpen();
    await this.tick();
    this.assertOpen();
    this.timer = setInterval(() => {
      void this.ticking();
    }, this.heartbeatMs);
  }

  /**
   * A start step, run again while Postgres is unreachable or cuts the
   * session: a worker started during an outage waits it out instead of
   * exiting. Other errors, and a close() meanwhile, end the start.
   */
  private untilPostgresAnswers<T>(step: string, run: () => Promise<T>): Promise<T> {
    return untilReachable(run, {
      signal: this.stopStarting.signal,
      onRetry: (error, attempt, delayMs) =>
        this.log.warn(
          { err: error, step, attempt, delayMs },
          'Postgres unavailable during start: retrying',
        ),
    });
  }

  status(): WorkerStatus {
    return {
      id: this.id,
      pool: this.options.pool,
      host: hostname(),
      pid: process.pid,
      partitions: [...this.runners.keys()].sort((a, b) => a - b),
      lastHeartbeat: this.lastHeartbeat,
      checkpoints: [...this.runners].flatMap(([partition, runner]) =>
        runner.checkpoints().map((c) => ({ partition, ...c })),
      ),
    };
  }

  /** Graceful stop: finish batches in hand, leave the pool, release every lease at once. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopStarting.abort();
      await this.starting?.catch(() => {});
      clearInterval(this.timer);
      clearTimeout(this.claimTimer);
      await this.ticking.settled();
      await this.claiming.settled();
      await this.refreshing.settled();
      await this.listening.settled();
      await this.listener?.end().catch(() => {});
      await Promise.all([...this.runners.keys()].map((p) => this.drop(p)));
      await this.membership?.leave().catch(() => {});
      this.control?.disconnect();
      await this.sharedPool?.end();
      await this.ledgerPool?.end();
      await this.store?.close();
      this.log.info('worker stopped');
    })();
    return this.closing;
  }

  private async tick(): Promise<void> {
    if (this.closing || !this.membership || !this.store) return;
    // One claim at a time, and none while the heartbeat decides: a retry
    // running beside it could start a runner the heartbeat is dropping, or
    // replace the list the heartbeat is claiming.
    clearTimeout(this.claimTimer);
    await this.claiming.settled();
    try {
      // In the background: a slow connect must not delay the heartbeat.
      void this.listening();
      await this.refreshFlags();
      const members = await this.membership.heartbeat();
      this.lastHeartbeat = new Date();
      await this.membership.announce({
        host: hostname(),
        pid: process.pid,
        lastHeartbeat: this.lastHeartbeat.toISOString(),
      });
      const owners = assignPartitions(members, this.partitions);
      for (const [partition] of this.runners) {
        if (owners.get(partition) !== this.id) {
          await this.drop(partition);
          this.log.info({ partition }, 'partition handed over');
        } else if (!(await this.membership.acquire(partition))) {
          this.log.warn({ partition }, 'lease lost; stopping the partition');
          await this.drop(partition, false);
        }
      }
      // The previous owner may hold a lease until it notices or it expires:
      // claim() tries each partition won and keeps trying the ones still held.
      this.unclaimed = [...owners]
        .filter(([partition, owner]) => owner === this.id && !this.runners.has(partition))
        .map(([partition]) => partition);
      await this.claim();
      if (this.heartbeatFailing) this.log.info('heartbeat works again');
      this.heartbeatFailing = false;
    } catch (error) {
      // One line per outage, not one per second.
      if (!this.heartbeatFailing) this.log.warn({ err: error }, 'heartbeat failing; retrying');
      this.heartbeatFailing = true;
    }
  }

  /**
   * Tries the unclaimed partitions again shortly, not at the next heartbeat:
   * their previous owner releases each lease as soon as its runner stops, and
   * until this worker takes it the partition has no runner at all. Waiting
   * for the heartbeat would leave partitions unapplied for up to a second at
   * every hand-over.
   */
  private claimSoon(): void {
    clearTimeout(this.claimTimer);
    if (this.unclaimed.length === 0 || this.closing) return;
    this.claimTimer = setTimeout(() => void this.claiming(), CLAIM_RETRY_MS);
  }

  /** Takes the lease of every unclaimed partition it can and starts its runner; retries the rest soon. */
  private async claim(): Promise<void> {
    const membership = this.membership;
    if (this.closing || !membership) return;
    const left: number[] = [];
    for (const partition of this.unclaimed) {
      if (this.closing) return;
      if (this.runners.has(partition)) continue;
      // Taken even while closing: close() waits for this claim, then stops
      // every runner and releases its lease. A lease taken without a runner
      // would hold the partition from everyone until it expired.
      if (await membership.acquire(partition)) this.startRunner(partition);
      else left.push(partition);
    }
    this.unclaimed = left;
    this.claimSoon();
  }

  /**
   * A swap NOTIFYs; without this the workers would keep writing the retired
   * version until their next heartbeat, and reads of the new one would stall
   * that long. Best effort: the heartbeat still refreshes the flags.
   */
  private async listen(): Promise<void> {
    if (this.listener || this.closing) return;
    const client = new pg.Client({
      connectionString: this.options.databaseUrl,
      application_name: `refract-worker-${this.options.pool}-listen`,
      connectionTimeoutMillis: 2000,
    });
    const lost = () => {
      if (this.listener === client) this.listener = undefined;
      void client.end().catch(() => {});
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', () => void this.refreshing());
    try {
      await client.connect();
      await client.query(`LISTEN ${PROJECTIONS_CHANNEL}`);
      this.listener = client;
      this.listenFailing = false;
    } catch (error) {
      lost();
      if (!this.listenFailing) this.log.warn({ err: error }, 'cannot listen for swaps; polling');
      this.listenFailing = true;
    }
  }

  private async refreshFlags(): Promise<void> {
    const rows = await this.store!.pool.query<{
      name: string;
      live_version: number;
      paused: boolean;
      updated_at: Date;
    }>(SQL.readFlags, [this.options.pool]);
    const flags = new Map(rows.rows.map((r) => [r.name, r]));
    for (const [name, reactor] of this.reactors) {
      const changedAt = flags.get(name)?.updated_at.getTime();
      // Replayed (or paused, resumed): calls remembered before are asked of the ledger again.
      if (reactor.changedAt !== undefined && changedAt !== reactor.changedAt) {
        reactor.run.forgetCalls();
      }
      reactor.changedAt = changedAt;
    }
    this.active = this.runnable.flatMap((projection) => {
      const flag = flags.get(projection.name);
      if (!flag || flag.paused) return [];
      return [{ projection, version: flag.live_version, changedAt: flag.updated_at.getTime() }];
    });
  }

  private startRunner(partition: number): void {
    // The heartbeat and a claim may both have just taken the lease.
    if (this.runners.has(partition)) return;
    const runner = new PartitionRunner({
      partition,
      store: this.store!,
      redis: duplicateClient(this.control!),
      control: this.control!,
      keyPrefix: this.keyPrefix,
      active: () => this.active,
      batchSize: this.options.batchSize ?? 500,
      gate: this.gate,
      committer: this.committer,
      blockMs: this.options.blockMs,
      log: this.log,
      onBatch: (projection, outcome, durationMs) => {
        for (const listener of this.batchListeners) listener(projection, outcome, durationMs);
      },
      onCheckpointMoved: async () => {
        // A rebuild's swap may be why (a frozen counter version): the runner
        // must reload the live versions, not only the checkpoints.
        await this.refreshFlags();
        const mine = (await this.membership?.holder(partition)) === this.id;
        // Not ours any more: forget the runner once it has returned.
        if (!mine) void Promise.resolve().then(() => this.drop(partition, false));
        return mine;
      },
    });
    this.runners.set(partition, runner);
    runner.start();
    this.log.info({ partition }, 'partition taken');
  }

  private async drop(partition: number, release = true): Promise<void> {
    const runner = this.runners.get(partition);
    this.runners.delete(partition);
    await runner?.stop();
    if (release) await this.membership?.release(partition).catch(() => {});
  }
}
