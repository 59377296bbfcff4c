import type { Projection } from '@refract/core';
import type { Logger } from '@refract/observability';
import { auditProjection, type ProjectionAudit } from '@refract/projector';
import type pg from 'pg';

/**
 * Every this many rounds, the round's audits are full ones: an incremental
 * audit cannot see an event committed below a position already found
 * complete, a full one counts the partition's whole log again.
 */
export const FULL_AUDIT_EVERY = 10;

export interface AuditorOptions {
  pool: pg.Pool;
  /** The module's table projections: a counter projection's checkpoints live in Redis and are not audited. */
  projections: readonly Projection[];
  /** REFRACT_AUDIT_INTERVAL_MS: the time between the end of one round of audits and the next. */
  intervalMs: number;
  /** Every this many rounds a full audit. @defaultValue FULL_AUDIT_EVERY */
  fullEvery?: number;
  log: Logger;
  /** Each audit's result, as it is stored (the metric's source). */
  onAudit: (audit: ProjectionAudit) => void;
}

/**
 * Admin's periodic completeness audit: every table projection's live
 * version, one after another, every `intervalMs`; incremental, and full
 * every `FULL_AUDIT_EVERY` rounds. Each result is stored by
 * `auditProjection` (refract.projection_audits, which survives a restart)
 * and handed to `onAudit`. Logs only changes: a projection found
 * incomplete (or with another count), and one complete again.
 */
export class Auditor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private rounds = 0;
  /** Projections whose last audit failed: logged once until one succeeds. */
  private readonly failing = new Set<string>();
  /** The last `missing` logged per projection. */
  private readonly last = new Map<string, number>();
  private readonly byName: Map<string, Projection>;

  constructor(private readonly options: AuditorOptions) {
    this.byName = new Map(options.projections.map((p) => [p.name, p]));
  }

  start(): void {
    this.stopped = false;
    // The first round an interval after start: a restarted admin still serves
    // the stored results, and a start is not slowed by counting the log.
    this.schedule(this.options.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Whether `name` is one of the table projections audited here. */
  audits(name: string): boolean {
    return this.byName.has(name);
  }

  /** Audits one projection now (the admin route, the CLI); undefined when the module has no such table projection, null when unregistered. */
  async audit(name: string, full = false): Promise<ProjectionAudit | null | undefined> {
    const projection = this.byName.get(name);
    if (!projection) return undefined;
    const audit = await auditProjection(this.options.pool, projection, { full });
    if (audit) this.report(audit);
    return audit;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.round().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    this.rounds += 1;
    const full = this.rounds % (this.options.fullEvery ?? FULL_AUDIT_EVERY) === 0;
    for (const projection of this.options.projections) {
      if (this.stopped) return;
      try {
        await this.audit(projection.name, full);
        this.failing.delete(projection.name);
      } catch (error) {
        if (this.failing.has(projection.name)) continue;
        this.failing.add(projection.name);
        this.options.log.warn(
          { err: error, projection: projection.name },
          'completeness audit failed; tried again each round, logged again once it has worked',
        );
      }
    }
  }

  private report(audit: ProjectionAudit): void {
    this.options.onAudit(audit);
    const before = this.last.get(audit.projection) ?? 0;
    this.last.set(audit.projection, audit.missing);
    if (audit.missing === before) return;
    const { projection, version, missing, since } = audit;
    if (audit.complete) {
      this.options.log.info({ projection, version }, 'completeness audit: complete again');
    } else {
      this.options.log.error(
        {
          projection,
          version,
          missing,
          since,
          partitions: audit.partitions.filter((p) => p.missing !== 0).map((p) => p.partition),
        },
        'completeness audit: events at or below the checkpoint neither applied nor parked',
      );
    }
  }
}
