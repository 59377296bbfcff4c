import type { SnapshotBounds } from './snapshot.js';

export interface VisibleEvent {
  position: number;
  partition: number;
  /** The envelope as JSON text. */
  envelope: string;
}

/**
 * Positions the relay is held at: missing while a later position was
 * visible. They can still be filled by a transaction that was running when
 * the gap was seen, and by no other, so the gap is final once every
 * transaction below `xmax` of that snapshot has ended.
 */
export interface Gap {
  from: number;
  to: number;
  xmax: bigint;
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
 * but a later one is visible, g was drawn before the read, by a transaction
 * that already had an id, below the read's snapshot xmax. Once the xmin of a
 * later snapshot has passed that xmax, every such transaction has ended:
 * if g is still not visible in that later read, it never will be.
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
  const final = held !== null && snapshot.xmin >= held.xmax ? held : null;
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
        : { from: expected, to: row.position - 1, xmax: snapshot.xmax, sinceMs: nowMs };
    break;
  }
  return { publish, through: expected - 1, skipped, gap };
}
