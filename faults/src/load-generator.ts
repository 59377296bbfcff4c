import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkloadEvent } from '@refract/example-orders';

export interface LoadGeneratorOptions {
  /** write-api origins; attempts rotate over them, so a killed one is routed around. */
  origins: readonly string[];
  /** The events to append, in order; one append per event. */
  events: Iterator<WorkloadEvent>;
  /** Appends in flight at once (at most one per stream). */
  concurrency: number;
  /** A request unanswered after this long is abandoned and sent again (same event id). */
  requestTimeoutMs: number;
  /** An event still not acknowledged after this long is reported as a failure. */
  giveUpAfterMs: number;
}

/** An append the write API acknowledged (2xx), with the position it answered. */
export interface Acknowledged {
  eventId: string;
  streamId: string;
  version: number;
  position: number;
  /** The order the event belongs to: what the query-api reader asks for. */
  orderId: string;
}

export interface LoadStats {
  acknowledged: number;
  /** Acknowledged with 200: a retry of an append that had already committed. */
  duplicates: number;
  /** Attempts that failed (connection refused or reset, timeout, 5xx) and were retried. */
  retries: number;
  /** Failed attempts by answer: an HTTP status, or `no answer` (refused, reset, timed out). */
  failedAttempts: Record<string, number>;
}

/**
 * Appends the workload through write-api's HTTP API, one event per request,
 * each with its id and expected version, so that a retry after a timeout or
 * a lost connection returns the first result instead of storing twice.
 * Records every acknowledged append; anything else than a 2xx, a 5xx or a
 * failed connection is a failure, as is an event that never gets through.
 */
export class LoadGenerator {
  readonly acknowledged: Acknowledged[] = [];
  readonly failures: string[] = [];
  readonly stats: LoadStats = { acknowledged: 0, duplicates: 0, retries: 0, failedAttempts: {} };
  private stopping = false;
  private running: Promise<void> | undefined;
  private attempts = 0;

  constructor(private readonly options: LoadGeneratorOptions) {}

  start(): void {
    this.running ??= this.run();
  }

  /** Stops drawing new events and waits until every append in flight is acknowledged or failed. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async run(): Promise<void> {
    const tails = new Map<string, Promise<void>>();
    const inFlight = new Set<Promise<void>>();
    while (!this.stopping) {
      const next = this.options.events.next();
      if (next.done) break;
      const item = next.value;
      const append = (tails.get(item.streamId) ?? Promise.resolve()).then(() => this.append(item));
      tails.set(item.streamId, append);
      inFlight.add(append);
      void append.finally(() => {
        inFlight.delete(append);
        if (tails.get(item.streamId) === append) tails.delete(item.streamId);
      });
      if (inFlight.size >= this.options.concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }

  private async append(item: WorkloadEvent): Promise<void> {
    const { origins, requestTimeoutMs, giveUpAfterMs } = this.options;
    const body = JSON.stringify({
      expectedVersion: item.version === 0 ? 'no_stream' : item.version - 1,
      events: [item.event],
    });
    const deadline = Date.now() + giveUpAfterMs;
    let lastProblem = '';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      const origin = origins[this.attempts++ % origins.length]!;
      if (attempt > 0) {
        this.stats.retries += 1;
        await sleep(Math.min(25 * attempt, 500));
      }
      let response: Response;
      try {
        response = await fetch(`${origin}/streams/${item.streamId}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
      } catch (error) {
        lastProblem = `${origin}: ${(error as Error).message}`;
        this.countFailure('no answer');
        continue;
      }
      const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (response.status === 200 || response.status === 201) {
        this.acknowledged.push({
          eventId: item.event.id,
          streamId: item.streamId,
          version: item.version,
          position: Number(answer.firstPosition),
          orderId: item.event.data.orderId,
        });
        this.stats.acknowledged += 1;
        if (response.status === 200) this.stats.duplicates += 1;
        return;
      }
      lastProblem = `${origin}: ${response.status} ${JSON.stringify(answer)}`;
      this.countFailure(String(response.status));
      if (response.status < 500) break;
    }
    this.failures.push(`${item.streamId}@${item.version} (${item.event.id}): ${lastProblem}`);
  }

  private countFailure(answer: string): void {
    this.stats.failedAttempts[answer] = (this.stats.failedAttempts[answer] ?? 0) + 1;
  }
}
