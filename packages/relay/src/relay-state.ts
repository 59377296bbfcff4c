import type pg from 'pg';
import { lockKey } from './relay.js';
import { SQL } from './sql.js';

/** The database session leading a relay name. */
export interface RelayLeader {
  /** Its Postgres backend pid. */
  pid: number;
  /** `refract-relay-<name>` for Refract's relays. */
  application: string | null;
  /** The client's address; null over a Unix socket. */
  address: string | null;
  connectedAt: string;
}

export interface RelayState {
  name: string;
  /** Null when no relay leads: nothing is being published. */
  leader: RelayLeader | null;
  /** Every position up to here is published (or a final gap). */
  publishedPosition: number;
  headPosition: number;
  /** Events after `publishedPosition`, counted exactly up to the limit. */
  lagEvents: number;
  /**
   * Set while a leader waits on a gap: the next position is not visible but
   * later ones are (its transaction may still commit). `sinceSeconds` is the
   * time since the checkpoint last moved, which is when the wait began.
   */
  heldAt: { position: number; sinceSeconds: number } | null;
}

/**
 * Reads a relay's state from Postgres, for processes that do not run it
 * (the admin service): the advisory lock tells the leader, the checkpoint
 * and the log tell the rest. A relay in this process has `status()` instead.
 */
export async function readRelayState(
  pool: pg.Pool,
  { name = 'main', countLimit = 100_000 }: { name?: string; countLimit?: number } = {},
): Promise<RelayState> {
  const [classId, objId] = lockKey(name);
  const result = await pool.query<{
    leader: RelayLeader | null;
    published: string;
    head: string;
    lag: string;
    next_visible: boolean;
    checkpoint_age_s: number | null;
  }>(SQL.relayState, [name, classId >>> 0, objId >>> 0, countLimit]);
  const row = result.rows[0]!;
  const publishedPosition = Number(row.published);
  const headPosition = Number(row.head);
  const held = row.leader !== null && headPosition > publishedPosition && !row.next_visible;
  return {
    name,
    leader: row.leader,
    publishedPosition,
    headPosition,
    lagEvents: Number(row.lag),
    heldAt: held
      ? {
          position: publishedPosition + 1,
          sinceSeconds: Math.round(Math.max(0, row.checkpoint_age_s ?? 0) * 1000) / 1000,
        }
      : null,
  };
}
