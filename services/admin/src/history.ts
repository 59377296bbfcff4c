import type { admin } from '@refract/contract';
import { singleFlight } from '@refract/core';
import type { Logger } from '@refract/observability';
import type { ProjectionView } from './overview.js';

type HistoryView = admin.HistoryView;
type Sample = HistoryView['samples'][number];

export interface OverviewHistoryOptions {
  /** Reads the projections as `/api/projections` shows them. */
  read: () => Promise<ProjectionView[]>;
  /** One sample this often. */
  intervalMs: number;
  /** Samples older than this are dropped: the ring holds `windowMs / intervalMs` of them. */
  windowMs: number;
  log: Logger;
}

/**
 * The last `windowMs` of every projection's lag (events and seconds),
 * events/s and parked count, sampled every `intervalMs` whether or not a
 * dashboard is open, so a page opened (or reloaded) during an incident shows
 * how it began. Kept in a fixed ring in this process: 15 minutes at one
 * sample per 5 s is 180 samples, a few tens of kilobytes; a restart of admin
 * starts it afresh. A sample that cannot be read (Postgres down) is a gap,
 * logged once per outage.
 */
export class OverviewHistory {
  private readonly ring: (Sample | undefined)[];
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private readonly take = singleFlight(() => this.sample());

  constructor(private readonly options: OverviewHistoryOptions) {
    this.ring = new Array(Math.max(1, Math.ceil(options.windowMs / options.intervalMs)));
  }

  /** Takes a sample now and one per interval until `close`. Idempotent. */
  start(): void {
    if (this.timer) return;
    void this.take();
    this.timer = setInterval(() => void this.take(), this.options.intervalMs);
    // The history never keeps the process alive on its own.
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** The samples still within the window, oldest first. */
  view(now = Date.now()): HistoryView {
    const { intervalMs, windowMs } = this.options;
    const ordered = [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
    const samples = ordered.filter((s): s is Sample => s !== undefined && s.at > now - windowMs);
    return { now, intervalMs, windowMs, samples };
  }

  /** Adds one sample of `projections` taken at `at` (what the timer does with a fresh read). */
  record(projections: readonly ProjectionView[], at = Date.now()): void {
    this.ring[this.next] = {
      at,
      projections: projections.map((p) => ({
        name: p.name,
        lagEvents: p.lagEvents,
        lagSeconds: p.lagSeconds,
        eventsPerSecond: p.eventsPerSecond,
        parked: p.parked,
      })),
    };
    this.next = (this.next + 1) % this.ring.length;
  }

  private async sample(): Promise<void> {
    try {
      this.record(await this.options.read());
      if (this.failing) this.options.log.info('history sampling works again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.options.log.warn({ err: error }, 'history sample failed; a gap');
      this.failing = true;
    }
  }
}
