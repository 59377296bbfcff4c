import { setTimeout as sleep } from 'node:timers/promises';
import type { EventStore } from '@refract/event-store';
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
  /**
   * Appends what the write API refuses: the poison events. A client that
   * bypasses the app's schemas (a library caller, a migration script) can
   * store them, and the projections must then park them.
   */
  store: EventStore;
}

/** An append the write API acknowledged (2xx), with the position it answered. */
export interface Acknowledged {
  eventId: string;
  streamId: string;
  version: number;
  position: number;
  /** The order the event belongs to: what the query-api reader asks for. */
  orderId: string;
  /**
   * A poison event, or a later event of its stream: quarantined, so the
   * order's row never reaches its position (a minPosition read would rightly
   * answer an older row).
   */
  quarantined: boolean;
}

export interface LoadStats {
  acknowledged: number;
  /** Acknowledged with 200: a retry of an append that had already committed. */
  duplicates: number;
  /** Attempts that failed (connection refused or reset, timeout, 5xx) and were retried. */
  retries: number;
  /** Failed attempts by answer: an HTTP status, or `no answer` (refused, reset, timed out). */
  failedAttempts: Record<string, number>;
  /** Poison events stored (each refused by the write API with 422 first, then appended through the store). */
  poisoned: number;
}

interface PoisonRequest {
  count: number;
  /** Poison events still to draw. */
  left: number;
  /** Those stored, as `stream@version position p`. */
  ids: string[];
  done: (ids: string[]) => void;
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
  readonly stats: LoadStats = {
    acknowledged: 0,
    duplicates: 0,
    retries: 0,
    failedAttempts: {},
    poisoned: 0,
  };
  /** Streams holding a poison event: at most one each, so each has one head. */
  private readonly poisonedStreams = new Set<string>();
  private poisonRequests: PoisonRequest[] = [];
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

  /**
   * Turns the next `count` ItemAdded events of streams not yet poisoned into
   * poison events (unitPrice as a JSON number, which both orders projections
   * refuse); resolves with their ids once they are all stored.
   */
  poisonNext(count: number): Promise<string[]> {
    return new Promise((done) => this.poisonRequests.push({ count, left: count, ids: [], done }));
  }

  private async run(): Promise<void> {
    const tails = new Map<string, Promise<void>>();
    const inFlight = new Set<Promise<void>>();
    while (!this.stopping) {
      const next = this.options.events.next();
      if (next.done) break;
      const item = next.value;
      const quarantined = this.poisonedStreams.has(item.streamId);
      const request = this.poisonRequests[0];
      const poison = !quarantined && request !== undefined && item.event.type === 'ItemAdded';
      if (poison) this.poisonedStreams.add(item.streamId);
      const append = (tails.get(item.streamId) ?? Promise.resolve()).then(() =>
        poison ? this.appendPoison(item, request) : this.append(item, quarantined),
      );
      if (poison && --request.left === 0) this.poisonRequests.shift();
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

  private async append(item: WorkloadEvent, quarantined: boolean): Promise<void> {
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
          quarantined,
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

  /**
   * A poison event: first sent to the write API, which must refuse it with a
   * 422 (its schema wants a decimal string) and store nothing; then appended
   * through the store, as a client bypassing the schemas would, retried with
   * the same event id (idempotent) until acknowledged.
   */
  private async appendPoison(item: WorkloadEvent, request: PoisonRequest): Promise<void> {
    const data = item.event.data as { unitPrice: string };
    const event = { ...item.event, data: { ...data, unitPrice: Number(data.unitPrice) } };
    const expectedVersion = item.version === 0 ? ('no_stream' as const) : item.version - 1;
    const { origins, requestTimeoutMs, giveUpAfterMs } = this.options;
    const deadline = Date.now() + giveUpAfterMs;
    let lastProblem = 'no attempt';
    let refused = false;
    for (let attempt = 0; !refused && Date.now() < deadline; attempt++) {
      if (attempt > 0) await sleep(Math.min(25 * attempt, 500));
      const origin = origins[this.attempts++ % origins.length]!;
      try {
        const response = await fetch(`${origin}/streams/${item.streamId}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ expectedVersion, events: [event] }),
          signal: AbortSignal.timeout(requestTimeoutMs),
        });
        lastProblem = `${origin}: ${response.status} ${await response.text().catch(() => '')}`;
        if (response.status === 422) refused = true;
        else if (response.status < 500) break;
      } catch (error) {
        lastProblem = `${origin}: ${(error as Error).message}`;
      }
    }
    if (!refused) {
      this.failures.push(
        `poison ${item.streamId}@${item.version} (${item.event.id}) not refused by the write API: ${lastProblem}`,
      );
      return;
    }
    while (Date.now() < deadline) {
      try {
        const result = await this.options.store.append(item.streamId, [event], {
          expectedVersion,
        });
        this.acknowledged.push({
          eventId: item.event.id,
          streamId: item.streamId,
          version: item.version,
          position: result.firstPosition,
          orderId: item.event.data.orderId,
          quarantined: true,
        });
        this.stats.acknowledged += 1;
        this.stats.poisoned += 1;
        request.ids.push(`${item.streamId}@${item.version} position ${result.firstPosition}`);
        if (request.ids.length === request.count) request.done(request.ids);
        return;
      } catch (error) {
        // Postgres restarting, a terminated session: retried like a 503.
        lastProblem = `store: ${(error as Error).message}`;
        this.countFailure('store error');
        await sleep(100);
      }
    }
    this.failures.push(
      `poison ${item.streamId}@${item.version} (${item.event.id}): ${lastProblem}`,
    );
  }

  private countFailure(answer: string): void {
    this.stats.failedAttempts[answer] = (this.stats.failedAttempts[answer] ?? 0) + 1;
  }
}
