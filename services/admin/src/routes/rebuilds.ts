import { admin } from '@refract/contract';
import { type AnyProjection, ReactorNotRebuildableError, RefractError } from '@refract/core';
import type { RebuildQueue } from '@refract/rebuild';
import type { ContractApp } from '@refract/service-kit';
import { projectionNotFound } from '../errors.js';

function jobNotFound(id: string): RefractError {
  return new RefractError('job_not_found', `no rebuild job ${id}`, { field: 'jobId', jobId: id });
}

/**
 * Rebuilds: start one (202; 409 with the running jobId; the body may declare
 * the expected changes), read a job, approve one held in verifying, cancel
 * it, list the latest (`/api/rebuilds`, newest first). The job layer (packages/rebuild) owns the queue and the refract.rebuilds rows.
 * Every projection of the application can be rebuilt, table and counter ones;
 * a reactor cannot (409 `reactor_not_rebuildable`): its effects would repeat.
 */
export function registerRebuildRoutes(
  app: ContractApp,
  options: {
    rebuild: RebuildQueue;
    registered: (name: string) => Promise<{ name: string }>;
    projections: readonly AnyProjection[];
    /** Names of the application's reactors: refused with 409, rebuilds never run them. */
    reactors?: readonly string[];
  },
): void {
  const { rebuild, registered } = options;
  const catalog = new Map(options.projections.map((p) => [p.name, p]));

  const routes = admin.adminRoutes;
  app.post(routes.rebuild.url, { schema: routes.rebuild.schema }, async (request, reply) => {
    if (options.reactors?.includes(request.params.name)) {
      throw new ReactorNotRebuildableError(request.params.name);
    }
    const { name } = await registered(request.params.name);
    const projection = catalog.get(name);
    if (!projection) throw projectionNotFound(name);
    const declared = request.body?.expectChanges;
    const expectChanges =
      declared === 'any' ? { any: true as const } : { columns: [...(declared ?? [])] };
    const { jobId } = await rebuild.enqueue(name, { expectChanges });
    request.log.info({ projection: name, job: jobId, expectChanges }, 'rebuild requested');
    return reply.code(202).send({ jobId });
  });

  app.get(
    routes.recentRebuilds.url,
    { schema: routes.recentRebuilds.schema },
    // Finished ones included: refract.rebuilds keeps outcomes after BullMQ trimmed the jobs.
    async (request) => rebuild.recent(request.query.limit ?? 20),
  );

  app.get(routes.job.url, { schema: routes.job.schema }, async (request) => {
    const id = request.params.jobId;
    const job = await rebuild.get(id);
    if (!job) throw jobNotFound(id);
    return job;
  });

  // Swaps a rebuild held in verifying (409 naming jobId when it is in another state).
  app.post(routes.approveJob.url, { schema: routes.approveJob.schema }, async (request) => {
    const id = request.params.jobId;
    if (!(await rebuild.get(id))) throw jobNotFound(id);
    const job = await rebuild.approve(id);
    return job;
  });

  app.delete(routes.cancelJob.url, { schema: routes.cancelJob.schema }, async (request) => {
    const id = request.params.jobId;
    // Refuse unknown ids here, so the 404 names the field like GET's does.
    if (!(await rebuild.get(id))) throw jobNotFound(id);
    const job = await rebuild.cancel(id);
    request.log.info(
      { projection: job.projection, job: id, state: job.state },
      'rebuild cancelled',
    );
    return job;
  });
}
