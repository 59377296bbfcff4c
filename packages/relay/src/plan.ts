import type { SnapshotBounds } from './snapshot.js';

export interface VisibleEvent {
  position: number;
  partition: number;
  /** The envelope as JSON text. */
  envelope: string;
  /** The W3C trace context in the event's metadata, when it has one. */
  traceparent?: string | null;
  tracestate?: string | null;
}

/**
 * Positions the relay is held at: missing while a later position was
 * visible. They can still be filled by a transaction that already had its
 * id when the gap was seen, and by no other. `horizon` is a transaction id
 * drawn after the sighting: every such transaction's id is below it, so the
 * gap is final once a snapshot's xmin reaches the horizon (every transaction
 * below it has ended). Null until the relay has drawn it.
 */
export interface Gap {
  from: number;
  to: number;
  horizon: bigint | null;
  sinceMs: number;
}

export interface Plan {
  /** Events to publish now, in position order. */
  publish: VisibleEvent[];
  /** The new checkpoint: every position up to it is published or a final gap. */
  through: number;
  /** Positions given up as final gaps (rolled back or never inserted). */
  skipped: number[];
  /** The gap the relay is now held at, or null. */
  gap: Gap | null;
}

/**
 * Decides what may be published after one read of the log.
 *
 * Why this is safe: appends take their transaction id before they draw
 * positions, and positions are drawn in order. So when position g is missing
 * but a later one is visible, g was drawn before the read by a transaction
 * that already had an id, and that id is below any id drawn after the read
 * (the gap's horizon). Once a later snapshot's xmin has reached the horizon,
 * every such transaction has ended: if g is still not visible in that later
 * read, it never will be.
 *
 * Not the snapshot's own xmax: Postgres sets it to one past the latest
 * *completed* id, so a running transaction with a newer id than every
 * completed one is neither below xmax nor in the xip list, and the xmin of a
 * later snapshot can pass that xmax while it still runs (a test reproduces it).
 *
 * `rows` are the visible events after `checkpoint`, ascending, read under `snapshot`.
 */
export function planPublication(
  checkpoint: number,
  rows: readonly VisibleEvent[],
  snapshot: SnapshotBounds,
  held: Gap | null,
  nowMs: number,
): Plan {
  const publish: VisibleEvent[] = [];
  const skipped: number[] = [];
  const final = held?.horizon != null && snapshot.xmin >= held.horizon ? held : null;
  let expected = checkpoint + 1;
  let gap: Gap | null = null;
  let i = 0;
  while (i < rows.length) {
    const row = rows[i]!;
    if (row.position < expected) {
      i += 1; // cannot happen with a consistent read; never publish twice
      continue;
    }
    if (row.position === expected) {
      publish.push(row);
      expected += 1;
      i += 1;
      continue;
    }
    if (final && expected >= final.from && expected <= final.to) {
      skipped.push(expected);
      expected += 1;
      continue;
    }
    // Keep the first sighting of a gap: refreshing its xmax under steady
    // load would push finality back forever.
    gap =
      held && held.from === expected && held !== final
        ? held
        : { from: expected, to: row.position - 1, horizon: null, sinceMs: nowMs };
    break;
  }
  return { publish, through: expected - 1, skipped, gap };
}
