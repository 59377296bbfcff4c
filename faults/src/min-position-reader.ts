import { setTimeout as sleep } from 'node:timers/promises';
import type { Acknowledged } from './load-generator.js';

export interface ReaderStats {
  /** 200s whose row reflected the append (position at or beyond it). */
  fresh: number;
  /** Documented refusals, by code: 504 not_caught_up, 503 dependency_unavailable / shutting_down. */
  refused: Record<string, number>;
}

/** The answers a read with `minPosition` may give instead of a row (docs/api.md, query-api). */
const DOCUMENTED_REFUSALS = new Set([
  '504 not_caught_up',
  '503 dependency_unavailable',
  '503 shutting_down',
]);

/**
 * Reads order summaries through query-api with read-your-writes throughout
 * the run: each read asks for an order just acknowledged, with `minPosition`
 * = the position the append was answered with. A row older than that
 * position, or any answer other than the row and the documented refusals,
 * is a violation.
 */
export class MinPositionReader {
  readonly violations: string[] = [];
  readonly stats: ReaderStats = { fresh: 0, refused: {} };
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: {
      origin: string;
      /** The acknowledged appends so far (the load generator's list, growing). */
      acknowledged: readonly Acknowledged[];
      /** Reads in flight at once. */
      concurrency: number;
      /** The wait each read asks for (`timeoutMs`). */
      waitMs: number;
      random: () => number;
    },
  ) {}

  start(): void {
    this.running ??= Promise.all(
      Array.from({ length: this.options.concurrency }, () => this.loop()),
    ).then(() => {});
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const { acknowledged } = this.options;
      if (acknowledged.length === 0) {
        await sleep(50);
        continue;
      }
      // Mostly the latest appends (the ones most likely not applied yet).
      const back = Math.floor(this.options.random() ** 3 * Math.min(acknowledged.length, 500));
      const ack = acknowledged[acknowledged.length - 1 - back]!;
      // Parked behind its stream's poison event: the row stays older, by design.
      if (ack.quarantined) {
        await sleep(10);
        continue;
      }
      await this.read(ack);
    }
  }

  private async read(ack: Acknowledged): Promise<void> {
    const { origin, waitMs } = this.options;
    const url = `${origin}/orders/${encodeURIComponent(ack.orderId)}?minPosition=${ack.position}&timeoutMs=${waitMs}`;
    let response: Response;
    try {
      // query-api itself is never killed and the reader reaches it directly:
      // whatever happens to its Postgres, it must answer within the wait
      // (plus slack for a busy machine), never hang.
      response = await fetch(url, { signal: AbortSignal.timeout(waitMs + 10_000) });
    } catch (error) {
      this.violate(ack, `nothing: ${(error as Error).message}`);
      return;
    }
    const body = (await response.json().catch(() => ({}))) as {
      error?: string;
      position?: number;
    };
    if (response.status === 200) {
      if (typeof body.position === 'number' && body.position >= ack.position) {
        this.stats.fresh += 1;
        return;
      }
      this.violate(ack, `a row at position ${body.position}`);
      return;
    }
    const answer = `${response.status} ${body.error}`;
    if (DOCUMENTED_REFUSALS.has(answer)) {
      this.stats.refused[answer] = (this.stats.refused[answer] ?? 0) + 1;
      if (response.status === 503) await sleep(100);
      return;
    }
    this.violate(ack, `${answer} ${JSON.stringify(body)}`);
  }

  private violate(ack: Acknowledged, what: string): void {
    if (this.violations.length < 20) {
      this.violations.push(
        `order ${ack.orderId} read with minPosition=${ack.position} (${ack.streamId}@${ack.version}) answered ${what}`,
      );
    }
  }
}
