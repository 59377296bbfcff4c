import type pg from 'pg';
import type { CutoverReport, ExpectChanges } from '../cutover.js';
import { SQL } from '../sql.js';
import type { RebuildRow, RebuildShareView, RebuildState } from './rebuild-job-view.js';

/** The `refract.rebuilds` rows: the one place that reads and writes them. */
export class RebuildTable {
  constructor(private readonly pool: pg.Pool) {}

  /** The new row, or null when another rebuild of the projection is waiting or active. */
  async insert(
    jobId: string,
    projection: string,
    targetVersion: number,
    expectChanges: ExpectChanges,
  ): Promise<RebuildRow | null> {
    const rows = await this.pool.query<RebuildRow>(SQL.insertRebuild, [
      jobId,
      projection,
      targetVersion,
      JSON.stringify(expectChanges),
    ]);
    return rows.rows[0] ?? null;
  }

  async running(projection: string): Promise<RebuildRow | null> {
    return (await this.pool.query<RebuildRow>(SQL.runningRebuild, [projection])).rows[0] ?? null;
  }

  async get(jobId: string): Promise<RebuildRow | null> {
    return (await this.pool.query<RebuildRow>(SQL.getRebuild, [jobId])).rows[0] ?? null;
  }

  /** The latest `limit` rebuilds of `projections`, newest first. */
  async recent(projections: readonly string[], limit: number): Promise<RebuildRow[]> {
    return (await this.pool.query<RebuildRow>(SQL.recentRebuilds, [projections, limit])).rows;
  }

  /** Marks the rebuild active; null when it has finished already. */
  async start(jobId: string): Promise<RebuildRow | null> {
    return (await this.pool.query<RebuildRow>(SQL.startRebuild, [jobId])).rows[0] ?? null;
  }

  /** Adds applied events; returns whether a cancel was requested. */
  async addProgress(jobId: string, applied: number, total: number): Promise<boolean> {
    const rows = await this.pool.query<{ cancel_requested: boolean }>(SQL.addProgress, [
      jobId,
      applied,
      total,
    ]);
    return rows.rows[0]?.cancel_requested ?? true;
  }

  async cancelRequested(jobId: string): Promise<boolean> {
    return (await this.get(jobId))?.cancel_requested ?? true;
  }

  /** Ends the rebuild; null when it had already ended. */
  async finish(
    jobId: string,
    state: Exclude<RebuildState, 'waiting' | 'active'>,
    outcome: { error?: string; swapPauseMs?: number; processed?: number; total?: number } = {},
  ): Promise<RebuildRow | null> {
    const rows = await this.pool.query<RebuildRow>(SQL.finishRebuild, [
      jobId,
      state,
      outcome.error ?? null,
      outcome.swapPauseMs ?? null,
      outcome.processed ?? null,
      outcome.total ?? null,
    ]);
    return rows.rows[0] ?? null;
  }

  /** Raises the cancel flag; null when the rebuild had already ended (or does not exist). */
  async requestCancel(jobId: string): Promise<RebuildRow | null> {
    return (await this.pool.query<RebuildRow>(SQL.requestCancel, [jobId])).rows[0] ?? null;
  }

  /** Holds the rebuild in `verifying` with its report; null when it had finished. */
  async hold(jobId: string, report: CutoverReport): Promise<RebuildRow | null> {
    const rows = await this.pool.query<RebuildRow>(SQL.holdRebuild, [
      jobId,
      JSON.stringify(report),
    ]);
    return rows.rows[0] ?? null;
  }

  /** Keeps the report of a rebuild that swaps. */
  async recordReport(jobId: string, report: CutoverReport): Promise<void> {
    await this.pool.query(SQL.recordReport, [jobId, JSON.stringify(report)]);
  }

  /** Sends a held rebuild back to the queue, approved; null when it was not verifying. */
  async approve(jobId: string): Promise<RebuildRow | null> {
    return (await this.pool.query<RebuildRow>(SQL.approveRebuild, [jobId])).rows[0] ?? null;
  }

  async addShare(jobId: string, share: RebuildShareView): Promise<void> {
    await this.pool.query(SQL.addShare, [jobId, JSON.stringify(share)]);
  }
}
