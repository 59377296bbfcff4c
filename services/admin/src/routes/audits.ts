import { admin } from '@refract/contract';
import { InvalidInputError } from '@refract/core';
import { type ProjectionAudit, readAudits, summarizeAudit } from '@refract/projector';
import type { ContractApp } from '@refract/service-kit';
import type pg from 'pg';
import type { Auditor } from '../auditor.js';
import { projectionNotFound } from '../errors.js';

/** The wire shape of an audit: the time as ISO 8601. */
function view(audit: ProjectionAudit, auditedAt: Date | null = audit.auditedAt) {
  return { ...audit, auditedAt: auditedAt?.toISOString() ?? null };
}

/**
 * The completeness audit: `GET /api/audits`, the latest stored audit of
 * every table projection the module declares (the dashboard's), and
 * `POST /api/projections/:name/audit[?full=true]`, one now (`refract audit`).
 */
export function registerAuditRoutes(
  app: ContractApp,
  options: { pool: pg.Pool; auditor: Auditor; counters: ReadonlySet<string> },
): void {
  const { audits, audit } = admin.adminRoutes;
  app.get(audits.url, { schema: audits.schema }, async () => {
    const byVersion = new Map<string, Awaited<ReturnType<typeof readAudits>>>();
    for (const row of await readAudits(options.pool)) {
      if (!options.auditor.audits(row.projection)) continue;
      const key = `${row.projection}@${row.version}`;
      byVersion.set(key, [...(byVersion.get(key) ?? []), row]);
    }
    return [...byVersion.values()].map((rows) => {
      const [{ projection, version }] = rows as [(typeof rows)[number]];
      const times = rows.flatMap((r) => (r.auditedAt ? [r.auditedAt.getTime()] : []));
      const at = times.length > 0 ? new Date(Math.max(...times)) : null;
      const partitions = rows.map(({ partition, checkpoint, missing, since }) => ({
        partition,
        checkpoint,
        missing,
        since,
      }));
      return view(summarizeAudit(projection, version, at ?? new Date(0), partitions), at);
    });
  });

  app.post(audit.url, { schema: audit.schema }, async (request) => {
    const { name } = request.params;
    if (options.counters.has(name)) {
      throw new InvalidInputError(
        'name',
        'is a counter projection: its checkpoints live in Redis, and only table projections are audited',
      );
    }
    const result = await options.auditor.audit(name, request.query.full === 'true');
    if (!result) throw projectionNotFound(name);
    return view(result);
  });
}
