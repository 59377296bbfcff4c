import { singleFlight } from '@refract/core';
import type { Logger } from '@refract/observability';

export interface MetricsCacheOptions {
  /**
   * Reads Postgres and Redis and sets the gauges; resolves whether every
   * projection of the application was seen (a worker may not have
   * registered one yet).
   */
  refresh: () => Promise<{ complete: boolean }>;
  /** The timer's period. */
  intervalMs: number;
  log: Logger;
}

/**
 * The admin gauges, re-read on a timer rather than at each scrape: a
 * scrape costs the database nothing, however many Prometheus servers and
 * curl loops ask. A scrape waits for a refresh only when the gauges could
 * hide something: before the first refresh has finished, and while the
 * last one missed projections of the application (registered by their
 * workers after the admin started); those scrape-driven refreshes run at
 * most once a second, so a projection no worker registers cannot bring
 * back a query per scrape.
 */
export class MetricsCache {
  private timer: NodeJS.Timeout | undefined;
  private refreshedAt: number | undefined;
  private complete = false;
  private readonly run = singleFlight(async () => {
    try {
      ({ complete: this.complete } = await this.options.refresh());
      this.refreshedAt = Date.now();
    } catch (error) {
      // A scrape still answers when a dependency is down: the gauges keep their last values.
      this.options.log.warn({ err: error }, 'cannot refresh admin metrics');
    }
  });

  constructor(private readonly options: MetricsCacheOptions) {}

  /** Refreshes now and then every `intervalMs` until `stop`. */
  start(): void {
    void this.run();
    this.timer ??= setInterval(() => void this.run(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-reads the gauges now (shared with a refresh already running). */
  refresh(): Promise<void> {
    return this.run();
  }

  /** What a scrape awaits before rendering; nothing at all once the gauges are complete. */
  async beforeScrape(): Promise<void> {
    if (this.refreshedAt === undefined) return this.run();
    const recheckMs = Math.min(this.options.intervalMs, 1000);
    if (!this.complete && Date.now() - this.refreshedAt >= recheckMs) return this.run();
  }
}
