/**
 * Bounds how many partition runners of one worker hold a batch at once (read
 * and not yet applied). Without it every owned partition reads its next
 * batch while only the Postgres pool's connections can apply one, so a
 * catch-up of 32 partitions held 32 batches and the worker's memory grew
 * with the partitions it owned. Waiters are served in arrival order.
 */
export class BatchGate {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`a batch gate needs a positive integer limit, not ${limit}`);
    }
  }

  /** Resolves once a batch may be held; call the returned function when it is applied (or dropped). */
  async acquire(): Promise<() => void> {
    if (this.held < this.limit) this.held += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes to the next waiter as it is; otherwise it is freed.
      if (next) next();
      else this.held -= 1;
    };
  }

  /** Batches held now, for status. */
  get inUse(): number {
    return this.held;
  }
}
