/** The two bounds of a pg_snapshot that gap detection needs. */
export interface SnapshotBounds {
  /** Every transaction below xmin has ended. */
  xmin: bigint;
  /** Every transaction at or above xmax had not started (or had no id) when the snapshot was taken. */
  xmax: bigint;
}

/** Parses pg_snapshot's text form, `xmin:xmax:xip1,xip2,...`. */
export function parseSnapshot(text: string): SnapshotBounds {
  const [xmin, xmax] = text.split(':');
  if (xmin === undefined || xmax === undefined) throw new Error(`not a pg_snapshot: ${text}`);
  return { xmin: BigInt(xmin), xmax: BigInt(xmax) };
}
