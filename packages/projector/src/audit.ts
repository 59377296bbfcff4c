import type { Projection } from '@refract/core';
import { withTransaction } from '@refract/event-store';
import type pg from 'pg';
import { readRegisteredProjection } from './pause.js';
import { SQL } from './sql.js';

/** One partition's audit: every event of a handled type at or below the checkpoint applied or parked, or how many not. */
export interface PartitionAudit {
  partition: number;
  /** The checkpoint audited up to. */
  checkpoint: number;
  /**
   * Events of handled types in the log at or below the checkpoint that were
   * neither applied nor parked; negative when more were counted as applied
   * than the log holds (applied twice). 0: complete.
   */
  missing: number;
  /** The checkpoint at the last audit that found the partition complete (0: none); what is missing lies after it. */
  since: number;
}

export interface ProjectionAudit {
  projection: string;
  version: number;
  auditedAt: Date;
  /** Every partition complete. */
  complete: boolean;
  /** The sum of the partitions' `missing`. */
  missing: number;
  /** The lowest `since` of the incomplete partitions; the lowest checkpoint when complete. */
  since: number;
  partitions: PartitionAudit[];
}

/** A stored audit of one partition (`readAudits`); `auditedAt` null before the first audit after a migration's baseline. */
export interface StoredPartitionAudit extends PartitionAudit {
  projection: string;
  version: number;
  auditedAt: Date | null;
}

interface CountsRow {
  partition: number;
  checkpoint: string;
  applied: string;
  complete_through: string;
  applied_at_complete: string;
  logged: string;
}

/**
 * The completeness audit of a table projection's live version (or
 * `version`): per partition, the committed events of its handled types in
 * `refract.events` at or below the checkpoint (the partition as stored with
 * each event, the engine's partition function's) against those the batches
 * applied (the `applied_events` count that moves with the checkpoint) plus
 * those they parked (`audit-parked.sql`, open or resolved). Incremental:
 * only the log after the last complete audit is counted, against the
 * applied count's growth since then; a partition found incomplete is
 * counted from the same place again next time, so its `missing` stays
 * exact. An event committed below a position an earlier audit already found
 * complete is seen only by a `full` audit, which counts everything since the
 * applied count started (0, or the checkpoint when the migration added it);
 * one that finds events missing sets the partition's last complete position
 * back there. The counts are read in one snapshot; the result is stored
 * (`readAudits`) and returned.
 */
export async function auditProjection(
  pool: pg.Pool,
  projection: Projection,
  options: { version?: number; full?: boolean } = {},
): Promise<ProjectionAudit | null> {
  const full = options.full === true;
  const audited =
    options.version ?? (await readRegisteredProjection(pool, projection.name))?.liveVersion;
  if (audited === undefined) return null;
  const partitions = await withTransaction(pool, async (client) => {
    // One snapshot: a batch committing between the reads would otherwise
    // show its checkpoint in one and not its parked events in the other.
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const counts = await client.query<CountsRow>(SQL.auditCounts, [
      projection.name,
      audited,
      [...projection.handles],
      full,
    ]);
    const rows = counts.rows.map((row) => ({
      partition: row.partition,
      checkpoint: Number(row.checkpoint),
      applied: Number(row.applied) - Number(row.applied_at_complete),
      appliedTotal: Number(row.applied),
      since: Number(row.complete_through),
      logged: Number(row.logged),
    }));
    const parked = await client.query<{ partition: number; parked: string }>(SQL.auditParked, [
      projection.name,
      audited,
      rows.map((r) => r.partition),
      rows.map((r) => r.since),
      rows.map((r) => r.checkpoint),
    ]);
    const parkedOf = new Map(parked.rows.map((r) => [r.partition, Number(r.parked)]));
    return rows.map((r) => ({
      ...r,
      missing: r.logged - r.applied - (parkedOf.get(r.partition) ?? 0),
    }));
  });
  await pool.query(SQL.saveAudits, [
    projection.name,
    audited,
    partitions.map((p) => p.partition),
    partitions.map((p) => p.checkpoint),
    partitions.map((p) => p.missing),
    partitions.map((p) => (p.missing === 0 ? p.checkpoint : p.since)),
    partitions.map((p) => (p.missing === 0 ? p.appliedTotal : p.appliedTotal - p.applied)),
    full,
  ]);
  const result = partitions.map(({ partition, checkpoint, missing, since }) => ({
    partition,
    checkpoint,
    missing,
    since,
  }));
  return summarize(projection.name, audited, new Date(), result);
}

/** The latest stored audit of every partition of every live version. */
export async function readAudits(pool: pg.Pool): Promise<StoredPartitionAudit[]> {
  const { rows } = await pool.query<{
    projection: string;
    version: number;
    partition: number;
    checkpoint: string;
    missing: string;
    complete_through: string;
    audited_at: Date | null;
  }>(SQL.readAudits);
  return rows.map((row) => ({
    projection: row.projection,
    version: row.version,
    partition: row.partition,
    checkpoint: Number(row.checkpoint),
    missing: Number(row.missing),
    since: Number(row.complete_through),
    auditedAt: row.audited_at,
  }));
}

/** One projection version's audit from its partitions'. */
export function summarize(
  projection: string,
  version: number,
  auditedAt: Date,
  partitions: PartitionAudit[],
): ProjectionAudit {
  const incomplete = partitions.filter((p) => p.missing !== 0);
  const bounds = (incomplete.length > 0 ? incomplete : partitions).map((p) =>
    incomplete.length > 0 ? p.since : p.checkpoint,
  );
  return {
    projection,
    version,
    auditedAt,
    complete: incomplete.length === 0,
    missing: incomplete.reduce((sum, p) => sum + p.missing, 0),
    since: bounds.length > 0 ? Math.min(...bounds) : 0,
    partitions,
  };
}
