import { CHECKPOINTS_CHANNEL } from '@refract/projector';
import pg from 'pg';

/** One checkpoint notification: a batch of `partition` up to `position` became visible. */
export interface Visible {
  position: number;
  at: number;
}

/**
 * LISTENs on the workers' checkpoint channel: every batch transaction
 * notifies `<projection>:<version>:<partition>:<position>`, delivered once
 * it has committed, so the arrival time is when (at the latest) the batch's
 * rows became visible. Keeps, per partition, the notifications of one
 * projection in arrival order.
 */
export class CheckpointListener {
  readonly byPartition: Visible[][];
  private client: pg.Client | undefined;

  constructor(
    private readonly databaseUrl: string,
    private readonly projection: string,
    partitions: number,
  ) {
    this.byPartition = Array.from({ length: partitions }, () => []);
  }

  async start(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: 'refract-bench-listen',
    });
    client.on('error', () => {});
    client.on('notification', (message) => {
      const at = performance.now();
      const parts = (message.payload ?? '').split(':');
      if (parts.length < 4) return;
      const position = Number(parts.pop());
      const partition = Number(parts.pop());
      parts.pop(); // version
      if (parts.join(':') !== this.projection) return;
      this.byPartition[partition]?.push({ position, at });
    });
    await client.connect();
    await client.query(`LISTEN ${CHECKPOINTS_CHANNEL}`);
    this.client = client;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

export interface Ack {
  position: number;
  partition: number;
  at: number;
}

/**
 * Lag of each acknowledged append: the first notification of its partition
 * whose position reaches it, minus the acknowledgement. A notification can
 * arrive before the bench processed the acknowledgement: that counts as 0
 * (and in `visibleBeforeAck`). Appends without such a notification are
 * returned in `unseen`.
 */
export function visibilityLags(
  acks: readonly Ack[],
  byPartition: readonly (readonly Visible[])[],
): { lagsMs: number[]; visibleBeforeAck: number; unseen: Ack[] } {
  const lagsMs: number[] = [];
  const unseen: Ack[] = [];
  let visibleBeforeAck = 0;
  for (const ack of acks) {
    const seen = byPartition[ack.partition] ?? [];
    // Checkpoints only move forward, so positions ascend in arrival order.
    let low = 0;
    let high = seen.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (seen[middle]!.position < ack.position) low = middle + 1;
      else high = middle;
    }
    const visible = seen[low];
    if (!visible) {
      unseen.push(ack);
      continue;
    }
    const lag = visible.at - ack.at;
    if (lag < 0) visibleBeforeAck += 1;
    lagsMs.push(Math.max(0, lag));
  }
  return { lagsMs, visibleBeforeAck, unseen };
}
