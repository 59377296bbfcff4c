/**
 * Bounds the events one worker holds at once (read and not yet applied),
 * over all the partitions it owns. Without it every owned partition would
 * read its next batch while only the Postgres pool's connections could apply
 * one, and the worker's memory would grow with the partitions it owned. It
 * counts events, not batches: tailing live
 * traffic, many partitions each hold a few events, and they may all be in
 * hand at once (the batch committer then applies them together), while a
 * catch-up's full batches still take a large share each. Waiters are served
 * in arrival order.
 */
export class BatchGate {
  private held = 0;
  private readonly waiting: { events: number; resolve: () => void }[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new Error(`a batch gate needs a positive integer limit, not ${limit}`);
    }
  }

  /**
   * Resolves once `events` more may be held (a batch larger than the limit
   * counts as the limit); call the returned function when they are applied
   * or dropped.
   */
  async acquire(events = 1): Promise<() => void> {
    const share = Math.min(Math.max(1, Math.ceil(events)), this.limit);
    if (this.waiting.length === 0 && this.held + share <= this.limit) this.held += share;
    else await new Promise<void>((resolve) => this.waiting.push({ events: share, resolve }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= share;
      this.admit();
    };
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.held + this.waiting[0]!.events <= this.limit) {
      const next = this.waiting.shift()!;
      this.held += next.events;
      next.resolve();
    }
  }

  /** Events held now, for status. */
  get inUse(): number {
    return this.held;
  }
}
