import { setTimeout } from 'node:timers/promises';
import { backoffDelayMs, type RecordedEvent } from '@refract/core';
import type { EventStore } from '@refract/event-store';
import {
  carrierOf,
  eventsSpanPlacement,
  inSpan,
  type Logger,
  SpanKind,
} from '@refract/observability';
import { readPublishedPosition } from '@refract/relay';
import type { RedisClient } from '@refract/stream-bus';
import {
  decodeEntry,
  entryIdOf,
  partitionStreamKey,
  type ReceivedEntry,
  waitUntilReady,
} from '@refract/stream-bus';
import type { ApplyOutcome, Slot } from './apply.js';
import {
  type ActiveProjection,
  applyToSlots,
  type PartitionTarget,
  readSlots,
} from './apply-slots.js';
import type { BatchCommitter } from './batch-committer.js';
import type { BatchGate } from './batch-gate.js';
import { CheckpointMoved } from './commit-with-checkpoints.js';

export type { ActiveProjection } from './apply-slots.js';

export interface PartitionRunnerOptions {
  partition: number;
  store: EventStore;
  /** A connection of its own: XREAD BLOCK holds it. */
  redis: RedisClient;
  /** A shared, non-blocking connection: counter projections' scripts and checkpoints. */
  control: RedisClient;
  keyPrefix: string;
  /** The projections to run now (live version, not paused); asked before every batch. */
  active: () => ActiveProjection[];
  batchSize: number;
  /**
   * Shared by the runners of a worker: a batch is held (read, then applied)
   * only with a place in it, so the events in memory are bounded by the gate,
   * not by the partitions owned. Unbounded without one.
   */
  gate?: BatchGate;
  /** Shared by the runners of a worker: batches of several partitions in one transaction. */
  committer?: BatchCommitter;
  /** How long one XREAD waits for new entries. @defaultValue 1000 */
  blockMs?: number;
  relayName?: string;
  log: Logger;
  onBatch?: (projection: string, outcome: ApplyOutcome, durationMs: number) => void;
  /** The checkpoint moved under us: the worker checks whether it still owns the partition. */
  onCheckpointMoved: () => Promise<boolean>;
}

/**
 * Runs every projection of a pool on one partition. Catches up from Postgres
 * up to what the relay has published (a new projection, a worker behind the
 * Redis window, a Redis that lost its data), then tails the partition stream;
 * an entry whose `prev` is past what this runner has seen reveals a hole,
 * which is read from Postgres before going on.
 */
export class PartitionRunner {
  private stopping = false;
  private done: Promise<void> | undefined;
  private slots = new Map<string, Slot>();
  private readonly log: Logger;
  private redisDown = false;
  /**
   * The last round followed the stream without a hole, or read Postgres up
   * to what the relay had published: the next round blocks on the stream
   * without asking where the relay stands (a query per batch).
   */
  private tailing = false;
  /**
   * The next read, sent while the batch before it commits: entries that
   * arrive meanwhile are in hand when the commit ends and join the very next
   * shared transaction, where a read sent only then would miss it and wait
   * for one more.
   */
  private ahead: { after: number; entries: Promise<ReceivedEntry[]> } | undefined;
  /**
   * One child logger per projection, made once: pino builds a child's
   * redaction anew each time, and a child per batch would be much of what a
   * tailing worker allocates (and so of its garbage collections).
   */
  private readonly projectionLogs = new Map<string, Logger>();
  /** The slots as last loaded, and the active list they were loaded for. */
  private loaded: { for: ActiveProjection[]; slots: Slot[] } | undefined;

  /** Where this partition's batches go (see applyToSlots). */
  private readonly target: PartitionTarget;

  constructor(private readonly options: PartitionRunnerOptions) {
    this.log = options.log.child({ partition: options.partition });
    this.target = {
      pool: options.store.pool,
      partition: options.partition,
      committer: options.committer,
      counters: { redis: options.control, keyPrefix: options.keyPrefix },
      logFor: (projection) => this.logFor(projection),
      onBatch: options.onBatch,
      stopping: () => this.stopping,
    };
  }

  start(): void {
    this.done ??= this.run();
  }

  /** Finishes the batch in hand, then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    // Unblock a waiting XREAD: the connection is this runner's alone.
    this.options.redis.disconnect();
    await this.done;
  }

  /** Every slot's checkpoint as this runner last saw it, for status and metrics. */
  checkpoints(): { projection: string; version: number; position: number; halted: boolean }[] {
    return [...this.slots.values()].map((s) => ({
      projection: s.projection.name,
      version: s.version,
      position: s.position,
      halted: s.halted,
    }));
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        const progressed = await this.step();
        failures = 0;
        if (!progressed) await setTimeout(200);
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof CheckpointMoved) {
          this.log.warn({ err: error }, 'checkpoint moved by another worker; reloading');
          // The ownership check reads Redis, which may be down: then it is retried
          // like any failure. Escaping here rejected run() unobserved and killed
          // the worker (fault suite: a zombie woken during a Redis restart).
          const mine = await this.options.onCheckpointMoved().catch(() => undefined);
          if (mine === false) return;
          if (mine === true) {
            this.slots.clear();
            continue;
          }
        }
        failures += 1;
        if (failures === 1) this.log.warn({ err: error }, 'partition runner failing; retrying');
        this.slots.clear();
        // Jittered: a worker's runners fail together (Postgres gone) and
        // should not all come back in the same millisecond.
        await setTimeout(backoffDelayMs(failures, { baseMs: 200, maxMs: 3000, jitter: 0.5 }));
      }
    }
  }

  /** One round: load checkpoints, catch up from Postgres or read the stream, apply. */
  private async step(): Promise<boolean> {
    const slots = await this.loadSlots();
    const live = slots.filter((s) => !s.halted);
    if (live.length === 0) return false;
    const from = Math.min(...live.map((s) => s.position));
    const published = this.tailing ? from : await this.relayPosition();
    this.tailing = false;
    const behind = from < published;
    // Behind, the batch is read only once it can be held. Tailing, the
    // blocking read must not hold a place while it waits: its entries (at
    // most one XREAD COUNT) wait for a place instead.
    let release = behind ? await this.options.gate?.acquire(this.options.batchSize) : undefined;
    try {
      if (this.stopping) return false;
      // Redis first, even when behind: it is the cheap path for ordinary lag.
      // Block only when there is nothing published to catch up on.
      const blockMs = behind ? undefined : (this.options.blockMs ?? 1000);
      const entries = await this.readFrom(from, blockMs);
      if (entries.length > 0) release ??= await this.options.gate?.acquire(entries.length);
      return await this.applyRead(live, from, published, entries, blockMs);
    } finally {
      release?.();
    }
  }

  private async applyRead(
    live: Slot[],
    from: number,
    published: number,
    entries: ReceivedEntry[],
    blockMs: number | undefined,
  ): Promise<boolean> {
    const chained: RecordedEvent[] = [];
    let last = from;
    for (const entry of entries) {
      // A `prev` beyond what we have means Redis lost entries (window, flush, restart).
      if (entry.prev > last) break;
      chained.push(entry.event);
      last = entry.position;
    }
    if (chained.length > 0) {
      // Tailing: read on while this batch commits. Behind, the batch gate
      // decides when the next batch is read.
      if (blockMs !== undefined && chained.length === entries.length && !this.stopping) {
        this.ahead = { after: last, entries: this.read(last, blockMs) };
      }
      await this.apply(live, chained, last);
      this.tailing = chained.length === entries.length;
      return true;
    }
    // Nothing usable in Redis: read Postgres up to a position the relay has
    // already published (so it is commit-safe): its checkpoint, or the `prev`
    // of the first entry, which it published before writing the checkpoint.
    const upTo = Math.max(published, entries[0]?.prev ?? 0);
    if (upTo <= from) return entries.length > 0 || !this.redisDown;
    if (entries.length > 0) {
      this.log.info({ from, upTo }, 'hole in the partition stream; reading Postgres');
    }
    const events = await this.options.store.readAll({
      after: from,
      upTo,
      partitions: [this.options.partition],
      limit: this.options.batchSize,
    });
    const full = events.length === this.options.batchSize;
    const through = full ? events[events.length - 1]!.position : upTo;
    await this.apply(live, events, through);
    // Caught up with what the relay published: block on the stream next.
    // The relay's position is global, so a partition with no new events is
    // always "behind" it; asking again would read Postgres (and commit an
    // empty batch) on every round while other partitions are busy.
    this.tailing = !full;
    return true;
  }

  /**
   * One batch, traced as one span linked to each event's stored context (a
   * child of it when the batch holds one trace): the apply end of the
   * append's trace.
   */
  private async apply(slots: Slot[], events: RecordedEvent[], through: number): Promise<void> {
    if (events.length === 0) return applyToSlots(this.target, slots, events, through);
    const { parent, links } = eventsSpanPlacement(events.map((event) => carrierOf(event.metadata)));
    const attributes = {
      'refract.partition': this.options.partition,
      'refract.events': events.length,
      'refract.first_position': events[0]!.position,
      'refract.last_position': through,
      'refract.projections': slots.map((slot) => slot.projection.name),
    };
    await inSpan('apply', { parent, links, kind: SpanKind.CONSUMER, attributes }, () =>
      applyToSlots(this.target, slots, events, through),
    );
  }

  private logFor(projection: string): Logger {
    let log = this.projectionLogs.get(projection);
    if (!log) {
      // From the worker's log, not this.log: apply's lines name the partition themselves.
      log = this.options.log.child({ projection });
      this.projectionLogs.set(projection, log);
    }
    return log;
  }

  private async loadSlots(): Promise<Slot[]> {
    const active = this.options.active();
    // The usual round: the same projections as the last one, every slot in
    // hand (they are updated in place), so nothing to look up.
    if (this.loaded?.for === active && this.slots.size === active.length) return this.loaded.slots;
    const keyOf = (a: ActiveProjection) => `${a.projection.name}@${a.version}@${a.changedAt ?? 0}`;
    const wanted = new Map(active.map((a) => [`${a.projection.name}@${a.version}`, keyOf(a)]));
    for (const key of [...this.slots.keys()]) {
      if (![...wanted.values()].includes(key)) this.slots.delete(key);
    }
    const missing = active.filter((a) => !this.slots.has(keyOf(a)));
    const found = await readSlots(
      this.options.store.pool,
      { redis: this.options.control, keyPrefix: this.options.keyPrefix },
      this.options.partition,
      missing,
    );
    for (const slot of found) {
      this.slots.set(wanted.get(`${slot.projection.name}@${slot.version}`)!, slot);
    }
    this.loaded = { for: active, slots: [...this.slots.values()] };
    return this.loaded.slots;
  }

  private async relayPosition(): Promise<number> {
    return readPublishedPosition(this.options.store.pool, this.options.relayName);
  }

  /**
   * The entries after `after`: the read sent ahead if it started there, or a
   * new one. A read ahead from elsewhere (the batch before it failed) is
   * still waited for: the connection answers in order, and it is this
   * runner's alone.
   */
  private async readFrom(after: number, blockMs: number | undefined): Promise<ReceivedEntry[]> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead) {
      const entries = await ahead.entries;
      if (ahead.after === after) return entries;
      if (this.stopping) return [];
    }
    return this.read(after, blockMs);
  }

  /** Never rejects: a Redis that is down reads as no entries. */
  private async read(after: number, blockMs: number | undefined): Promise<ReceivedEntry[]> {
    const { redis } = this.options;
    const key = partitionStreamKey(this.options.keyPrefix, this.options.partition);
    if (!(await waitUntilReady(redis, 2000))) {
      if (!this.redisDown && !this.stopping) this.log.warn('redis unavailable; waiting');
      this.redisDown = true;
      return [];
    }
    try {
      const reply = (
        blockMs === undefined
          ? await redis.xread('COUNT', this.options.batchSize, 'STREAMS', key, entryIdOf(after))
          : await redis.xread(
              'COUNT',
              this.options.batchSize,
              'BLOCK',
              blockMs,
              'STREAMS',
              key,
              entryIdOf(after),
            )
      ) as [string, [string, string[]][]][] | null;
      if (this.redisDown) this.log.info('redis back');
      this.redisDown = false;
      const entries = reply?.[0]?.[1] ?? [];
      // The relay publishes events as stored; handlers see the shape the store's readers give.
      const { upcasters } = this.options.store;
      return entries.map(([id, fields]) => {
        const entry = decodeEntry(id, fields);
        const event = upcasters.upcast(entry.event);
        return event === entry.event ? entry : { ...entry, event };
      });
    } catch (error) {
      if (this.stopping) return [];
      if (!this.redisDown) this.log.warn({ err: error }, 'redis unavailable; waiting');
      this.redisDown = true;
      await setTimeout(500);
      return [];
    }
  }
}
